/* The nftables rules `server bootstrap` writes (lib/server/firewall.c):
 * the SSH port given is the one let in, besides 80 and 443 (issue 20:
 * "the SSH port configurable"), nothing else is, Docker's DNATed (published)
 * ports other than 80/443 are dropped in forward, and Docker's own tables
 * are not flushed. The rules loaded on a real server: e2e.bootstrap. */
#include "tl_test.h"

#include "server/server_int.h"

#include <stdio.h>
#include <string.h>

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void check_rules(int port)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__srv_firewall_text(&b, port));
	char want[96];
	snprintf(want, sizeof(want), "tcp dport { %d, 80, 443 } accept\n", port);
	assert_int_equal(count(b.ptr, want), 1);
	/* no other TCP port is let in, and the input policy drops */
	assert_int_equal(count(b.ptr, "tcp dport"), 1);
	assert_int_equal(count(b.ptr, "hook input priority filter; policy drop;"), 1);
	/* the loaded table says which port it was made for, so a run with
	 * another --ssh-port sees the rules differ and reloads them */
	snprintf(want, sizeof(want), "comment \"towlion-firewall-v1-ssh%d\"", port);
	assert_int_equal(count(b.ptr, want), 1);
	/* published ports: DNATed traffic not from a Docker bridge is dropped
	 * unless it was for 80/443, before Docker's forward chains */
	assert_int_equal(count(b.ptr, "priority filter - 10; policy accept;"), 1);
	assert_int_equal(count(b.ptr, "ct original proto-dst != 80 ct original proto-dst != 443 drop"), 1);
	assert_int_equal(count(b.ptr, "meta l4proto udp ct original proto-dst != 443 drop"), 1);
	/* only its own table: Docker's survive a reload of nftables.service */
	assert_null(strstr(b.ptr, "\nflush ruleset")); /* (a comment names it) */
	assert_int_equal(count(b.ptr, "\ntable inet towlion"), 2);
	assert_int_equal(count(b.ptr, "\ndelete table inet towlion\n"), 1);
	tl_buf_dispose(&b);
}

static void test_default_port(void **state) { check_rules(22); }

static void test_ssh_port_configurable(void **state)
{
	check_rules(2222);
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__srv_firewall_text(&b, 2222));
	assert_null(strstr(b.ptr, "{ 22,"));
	tl_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_ssh_port_configurable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

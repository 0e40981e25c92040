/* The firewall step: nftables lets in only SSH, HTTP and HTTPS, and
 * Docker's published ports do not get around it.
 *
 * The rules live in a table of their own (inet towlion), written to
 * /etc/nftables.conf without Debian's "flush ruleset": Docker keeps its
 * own tables (iptables-nft), and reloading nftables.service must not wipe
 * them. Docker publishes a port by DNAT in prerouting, so the packet never
 * reaches the input chain: the forward chain drops DNATed traffic that did
 * not come from a Docker bridge unless its original port was 80 or 443.
 *
 * Applying never locks out the SSH session: the ruleset is checked by
 * `nft -c`, a systemd timer takes the table off again after 60 s, the
 * rules are loaded, and only when a *new* SSH login works is the timer
 * stopped and the file kept. */
#include "server_int.h"

#include <string.h>

/* Bumped when the rules change: the loaded table carries it. */
#define FIREWALL_VERSION "1"

int tl__srv_firewall_text(tl_buf *out, int ssh_port)
{
	return tl__buf_printf(
		out,
		"#!/usr/sbin/nft -f\n"
		"# Written by towlion server bootstrap. Only the table inet towlion is\n"
		"# its: Docker's tables are left alone (no \"flush ruleset\" here).\n"
		"# Debian's original file, if there was one: /etc/nftables.conf.before-towlion\n"
		"table inet towlion\n"
		"delete table inet towlion\n"
		"table inet towlion {\n"
		"\tcomment \"towlion-firewall-v" FIREWALL_VERSION "-ssh%d\"\n"
		"\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tct state established,related accept\n"
		"\t\tct state invalid drop\n"
		"\t\tmeta l4proto { icmp, ipv6-icmp } accept\n"
		"\t\ttcp dport { %d, 80, 443 } accept\n"
		"\t\tudp dport 443 accept comment \"HTTP/3\"\n"
		"\t\tudp sport 67 udp dport 68 accept comment \"DHCP\"\n"
		"\t\tudp sport 547 udp dport 546 accept comment \"DHCPv6\"\n"
		"\t\t# containers reach the host's Docker gateway (DNS, published ports)\n"
		"\t\tiifname \"docker0\" accept\n"
		"\t\tiifname \"br-*\" accept\n"
		"\t}\n"
		"\n"
		"\tchain forward {\n"
		"\t\t# before Docker's own filter chains\n"
		"\t\ttype filter hook forward priority filter - 10; policy accept;\n"
		"\t\tct status dnat iifname != \"docker0\" iifname != \"br-*\" "
		"meta l4proto tcp "
		"ct original proto-dst != 80 ct original proto-dst != 443 drop\n"
		"\t\tct status dnat iifname != \"docker0\" iifname != \"br-*\" "
		"meta l4proto udp ct original proto-dst != 443 drop\n"
		"\t}\n"
		"}\n",
		ssh_port, ssh_port);
}

static const char check_sh[] =
	"w=$(cat); changes=\n"
	"[ \"$(cat /etc/nftables.conf 2>/dev/null)\" = \"$w\" ] || changes='write /etc/nftables.conf'\n"
	"nft list table inet towlion 2>/dev/null | grep -qF \"\\\"$1\\\"\" || "
	"changes=\"${changes:+$changes, }load the rules\"\n"
	"systemctl is-enabled --quiet nftables || changes=\"${changes:+$changes, }enable nftables.service\"\n"
	"[ -z \"$changes\" ] || { echo \"$changes\"; exit 10; }\n"
	"echo \"in: tcp $2, 80, 443, udp 443; published ports: 80 and 443 only\"\n";

/* stdin: the rules. Checked, kept aside, loaded with a rollback timer. */
static const char load_sh[] =
	"set -e; new=/etc/nftables.conf.towlion-new\n"
	"cat > $new; chmod 0755 $new\n"
	"nft -c -f $new\n"
	"if [ -e /etc/nftables.conf ] && [ ! -e /etc/nftables.conf.before-towlion ] &&\n"
	"   ! grep -q 'Written by towlion server bootstrap' /etc/nftables.conf; then\n"
	"  cp -p /etc/nftables.conf /etc/nftables.conf.before-towlion\n"
	"fi\n"
	"systemctl stop towlion-firewall-rollback.timer 2>/dev/null || true\n"
	"systemctl reset-failed towlion-firewall-rollback.service 2>/dev/null || true\n"
	"systemd-run --quiet --unit=towlion-firewall-rollback --on-active=60 "
	"--timer-property=AccuracySec=1s /usr/sbin/nft delete table inet towlion\n"
	"nft -f $new\n";

static const char confirm_sh[] = "systemctl stop towlion-firewall-rollback.timer";

static const char keep_sh[] =
	"set -e; mv -f /etc/nftables.conf.towlion-new /etc/nftables.conf\n"
	"systemctl enable --quiet nftables\n";

static int with_rules(tl__srv *s, tl_buf *rules, char port[16], char tag[64])
{
	snprintf(port, 16, "%d", s->ssh_port);
	snprintf(tag, 64, "towlion-firewall-v" FIREWALL_VERSION "-ssh%d", s->ssh_port);
	return tl__srv_firewall_text(rules, s->ssh_port);
}

int tl__srv_firewall_check(tl__srv *s)
{
	tl_buf rules = TL_BUF_INIT;
	char port[16], tag[64];
	int rc = with_rules(s, &rules, port, tag);
	const char *args[] = {tag, port, NULL};
	if (!rc)
		rc = tl__srv_check(s, check_sh, args, &rules);
	tl_buf_dispose(&rules);
	return rc;
}

int tl__srv_firewall_apply(tl__srv *s)
{
	tl_buf rules = TL_BUF_INIT;
	char port[16], tag[64];
	int rc = with_rules(s, &rules, port, tag);
	if (!rc)
		rc = tl__srv_do(s, "loading the firewall rules", load_sh, NULL, &rules);
	tl_buf_dispose(&rules);
	if (rc)
		return rc;
	/* A new login, through the rules just loaded, confirms them. */
	tl_ssh *probe = NULL;
	tl_ssh *session = s->ssh;
	rc = tl_ssh_connect(&probe, s->ctx, s->ssh_opts);
	if (rc) {
		return tl__error_set(TL_EAUTH, TL_ERRCLASS_NONE,
		                     "%s: a new SSH login failed after the firewall was loaded (%s): "
		                     "the rules come off again within 60 s "
		                     "(towlion-firewall-rollback.timer); is %d the SSH port?",
		                     s->host, tl_error_last()->message, s->ssh_port);
	}
	s->ssh = probe;
	rc = tl__srv_do(s, "confirming the firewall over a new login", confirm_sh, NULL, NULL);
	s->ssh = session;
	tl_ssh_free(probe);
	return rc ? rc : tl__srv_do(s, "keeping the firewall", keep_sh, NULL, NULL);
}

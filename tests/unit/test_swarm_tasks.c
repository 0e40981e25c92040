/* Reading Swarm's task objects (lib/cluster/service.c), without services:
 * the task JSON as the Engine API gives it. */
#include "tl_test.h"
#include "cluster/service.h"

#include <string.h>

static json_t *task(const char *ports)
{
	char *text = tl__sprintf("{\"Status\":{\"State\":\"running\",\"PortStatus\":{\"Ports\":%s}}}",
	                         ports);
	json_t *t = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(t);
	return t;
}

/* Docker maps 0.0.0.0 and :: apart; when the IPv4 pick was taken (an
 * outgoing connection held 32772) it retried there only: the two ports
 * differ, and only the first, IPv4's, answers on 127.0.0.1 (seen in
 * integration.cluster_deploy, which took the last and probed a port
 * nothing listened on for 60 s). */
static void test_port_is_the_first_binding(void **state)
{
	(void)state;
	json_t *t = task("[{\"Protocol\":\"tcp\",\"TargetPort\":8000,\"PublishedPort\":32773,"
	                 "\"PublishMode\":\"host\"},"
	                 "{\"Protocol\":\"tcp\",\"TargetPort\":8000,\"PublishedPort\":32772,"
	                 "\"PublishMode\":\"host\"}]");
	assert_int_equal(tl__swarm_task_port(t, 8000), 32773);
	assert_int_equal(tl__swarm_task_port(t, 9000), 0);
	json_decref(t);
}

static void test_port_of_the_target_tcp_only(void **state)
{
	(void)state;
	json_t *t = task("[{\"Protocol\":\"udp\",\"TargetPort\":8000,\"PublishedPort\":40000},"
	                 "{\"Protocol\":\"tcp\",\"TargetPort\":9000,\"PublishedPort\":40001},"
	                 "{\"Protocol\":\"tcp\",\"TargetPort\":8000,\"PublishedPort\":0},"
	                 "{\"Protocol\":\"tcp\",\"TargetPort\":8000,\"PublishedPort\":70000},"
	                 "{\"Protocol\":\"tcp\",\"TargetPort\":8000,\"PublishedPort\":40002}]");
	assert_int_equal(tl__swarm_task_port(t, 8000), 40002);
	assert_int_equal(tl__swarm_task_port(t, 9000), 40001);
	json_decref(t);
	/* no ports yet (a task that has not started), or none at all */
	t = task("[]");
	assert_int_equal(tl__swarm_task_port(t, 8000), 0);
	json_decref(t);
	t = json_pack("{s:{s:s}}", "Status", "State", "pending");
	assert_int_equal(tl__swarm_task_port(t, 8000), 0);
	json_decref(t);
	assert_int_equal(tl__swarm_task_port(NULL, 8000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_is_the_first_binding),
		cmocka_unit_test(test_port_of_the_target_tcp_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Containers and images as Docker described them: thin getters over the
 * JSON of inspect or list (the two have different shapes). */
#include "docker_int.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str_or_empty(json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "";
}

tl_docker_container *tl__docker_container_wrap(json_t *j)
{
	tl_docker_container *c = tl__calloc(1, sizeof(*c));
	if (c)
		c->j = json_incref(j);
	return c;
}

tl_docker_image *tl__docker_image_wrap(json_t *j)
{
	tl_docker_image *i = tl__calloc(1, sizeof(*i));
	if (i)
		i->j = json_incref(j);
	return i;
}

void tl_docker_container_free(tl_docker_container *c)
{
	if (!c)
		return;
	json_decref(c->j);
	free(c);
}

const char *tl_docker_container_id(const tl_docker_container *c)
{
	return c ? str_or_empty(json_object_get(c->j, "Id")) : "";
}

const char *tl_docker_container_name(const tl_docker_container *c)
{
	if (!c)
		return "";
	const char *n = json_string_value(json_object_get(c->j, "Name"));
	if (!n) /* list entries carry "Names": ["/name"] */
		n = json_string_value(json_array_get(json_object_get(c->j, "Names"), 0));
	if (!n)
		return "";
	return n[0] == '/' ? n + 1 : n;
}

const char *tl_docker_container_image(const tl_docker_container *c)
{
	if (!c)
		return "";
	json_t *cfg = json_object_get(c->j, "Config");
	if (cfg) /* inspect: the name it was created from */
		return str_or_empty(json_object_get(cfg, "Image"));
	return str_or_empty(json_object_get(c->j, "Image"));
}

const char *tl_docker_container_state(const tl_docker_container *c)
{
	if (!c)
		return "";
	json_t *st = json_object_get(c->j, "State");
	if (json_is_object(st))
		return str_or_empty(json_object_get(st, "Status"));
	return str_or_empty(st);
}

int tl_docker_container_running(const tl_docker_container *c)
{
	return strcmp(tl_docker_container_state(c), "running") == 0;
}

int tl_docker_container_exit_code(const tl_docker_container *c)
{
	json_t *st = c ? json_object_get(c->j, "State") : NULL;
	json_t *ec = json_is_object(st) ? json_object_get(st, "ExitCode") : NULL;
	return json_is_integer(ec) ? (int)json_integer_value(ec) : -1;
}

const char *tl_docker_container_health(const tl_docker_container *c)
{
	if (!c)
		return "";
	json_t *st = json_object_get(c->j, "State");
	if (json_is_object(st)) {
		json_t *h = json_object_get(st, "Health");
		return h ? str_or_empty(json_object_get(h, "Status")) : "";
	}
	/* a list entry only has it in its status line: "Up 2 minutes (healthy)" */
	const char *s = str_or_empty(json_object_get(c->j, "Status"));
	if (strstr(s, "(healthy)"))
		return "healthy";
	if (strstr(s, "(unhealthy)"))
		return "unhealthy";
	if (strstr(s, "(health: starting)"))
		return "starting";
	return "";
}

const char *tl_docker_container_status(const tl_docker_container *c)
{
	if (!c)
		return "";
	json_t *s = json_object_get(c->j, "Status");
	if (json_is_string(s))
		return json_string_value(s);
	return tl_docker_container_state(c);
}

static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

int64_t tl_docker_container_created(const tl_docker_container *c)
{
	if (!c)
		return 0;
	json_t *v = json_object_get(c->j, "Created");
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	return parse_rfc3339(json_string_value(v));
}

static json_t *labels_of(json_t *j)
{
	json_t *cfg = json_object_get(j, "Config");
	if (cfg)
		return json_object_get(cfg, "Labels");
	return json_object_get(j, "Labels");
}

const char *tl_docker_container_label(const tl_docker_container *c, const char *key)
{
	if (!c || !key)
		return NULL;
	return json_string_value(json_object_get(labels_of(c->j), key));
}

const char *tl_docker_container_ip(const tl_docker_container *c, const char *network)
{
	if (!c)
		return "";
	json_t *nets = json_object_get(json_object_get(c->j, "NetworkSettings"), "Networks");
	if (network)
		return str_or_empty(json_object_get(json_object_get(nets, network), "IPAddress"));
	const char *k;
	json_t *v;
	json_object_foreach(nets, k, v) {
		const char *ip = json_string_value(json_object_get(v, "IPAddress"));
		if (ip && *ip)
			return ip;
	}
	return "";
}

int tl_docker_container_host_port(const tl_docker_container *c, const char *port,
                                  tl_buf *host_ip)
{
	if (!c || !port)
		return 0;
	char key[64];
	snprintf(key, sizeof(key), strchr(port, '/') ? "%s" : "%s/tcp", port);
	json_t *ports = json_object_get(c->j, "NetworkSettings");
	ports = json_object_get(ports, "Ports");
	if (ports) { /* inspect: {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]} */
		json_t *b = json_array_get(json_object_get(ports, key), 0);
		const char *hp = json_string_value(json_object_get(b, "HostPort"));
		if (!hp)
			return 0;
		if (host_ip) {
			const char *ip = str_or_empty(json_object_get(b, "HostIp"));
			tl__buf_set(host_ip, ip, strlen(ip));
		}
		uint64_t published;
		int bad = tl_parse_uint(&published, hp, 1, 65535, "HostPort");
		tl_error_clear(); /* not a port Docker published: none */
		return bad ? 0 : (int)published;
	}
	/* list: "Ports": [{"PrivatePort": 8000, "PublicPort": 49153, "Type": "tcp", "IP": ..}] */
	uint64_t want = 0;
	const char *kp = key;
	if (!tl__parse_digits(&want, &kp))
		return 0;
	const char *proto = strchr(key, '/') + 1;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(c->j, "Ports"), i, p) {
		if (json_integer_value(json_object_get(p, "PrivatePort")) != (json_int_t)want ||
		    strcmp(str_or_empty(json_object_get(p, "Type")), proto) != 0 ||
		    !json_object_get(p, "PublicPort"))
			continue;
		if (host_ip) {
			const char *ip = str_or_empty(json_object_get(p, "IP"));
			tl__buf_set(host_ip, ip, strlen(ip));
		}
		return (int)json_integer_value(json_object_get(p, "PublicPort"));
	}
	return 0;
}

static int dump(tl_buf *out, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s)
		return tl__error_oom();
	int rc = tl__buf_set(out, s, strlen(s));
	free(s);
	return rc;
}

int tl_docker_container_json(tl_buf *out, const tl_docker_container *c)
{
	TL__CHECK_ARG(out && c);
	return dump(out, c->j);
}

/* ---- lists ---- */

struct tl_docker_container_list {
	tl_docker_container *items;
	size_t n;
};

int tl__docker_container_list_new(tl_docker_container_list **out, json_t *arr)
{
	tl_docker_container_list *l = tl__calloc(1, sizeof(*l));
	size_t n = json_array_size(arr);
	if (!l || (n && !(l->items = tl__calloc(n, sizeof(*l->items))))) {
		free(l);
		return TL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		l->items[i].j = json_incref(json_array_get(arr, i));
	l->n = n;
	*out = l;
	return TL_OK;
}

void tl_docker_container_list_free(tl_docker_container_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->items[i].j);
	free(l->items);
	free(l);
}

size_t tl_docker_container_list_count(const tl_docker_container_list *l)
{
	return l ? l->n : 0;
}

const tl_docker_container *tl_docker_container_list_at(const tl_docker_container_list *l,
                                                       size_t i)
{
	return l && i < l->n ? &l->items[i] : NULL;
}

/* ---- images ---- */

void tl_docker_image_free(tl_docker_image *img)
{
	if (!img)
		return;
	json_decref(img->j);
	free(img);
}

const char *tl_docker_image_id(const tl_docker_image *img)
{
	return img ? str_or_empty(json_object_get(img->j, "Id")) : "";
}

int64_t tl_docker_image_size(const tl_docker_image *img)
{
	return img ? (int64_t)json_integer_value(json_object_get(img->j, "Size")) : 0;
}

size_t tl_docker_image_tag_count(const tl_docker_image *img)
{
	return img ? json_array_size(json_object_get(img->j, "RepoTags")) : 0;
}

const char *tl_docker_image_tag_at(const tl_docker_image *img, size_t i)
{
	return img ? json_string_value(json_array_get(json_object_get(img->j, "RepoTags"), i))
	           : NULL;
}

const char *tl_docker_image_label(const tl_docker_image *img, const char *key)
{
	if (!img || !key)
		return NULL;
	return json_string_value(json_object_get(labels_of(img->j), key));
}

int tl_docker_image_json(tl_buf *out, const tl_docker_image *img)
{
	TL__CHECK_ARG(out && img);
	return dump(out, img->j);
}

struct tl_docker_image_list {
	tl_docker_image *items;
	size_t n;
};

int tl__docker_image_list_new(tl_docker_image_list **out, json_t *arr)
{
	tl_docker_image_list *l = tl__calloc(1, sizeof(*l));
	size_t n = json_array_size(arr);
	if (!l || (n && !(l->items = tl__calloc(n, sizeof(*l->items))))) {
		free(l);
		return TL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		l->items[i].j = json_incref(json_array_get(arr, i));
	l->n = n;
	*out = l;
	return TL_OK;
}

void tl_docker_image_list_free(tl_docker_image_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->items[i].j);
	free(l->items);
	free(l);
}

size_t tl_docker_image_list_count(const tl_docker_image_list *l)
{
	return l ? l->n : 0;
}

const tl_docker_image *tl_docker_image_list_at(const tl_docker_image_list *l, size_t i)
{
	return l && i < l->n ? &l->items[i] : NULL;
}

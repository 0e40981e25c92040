/*
 * Can this machine's kernel carry Docker's encrypted overlays?
 *
 * Docker programs IPsec transport-mode SAs (ESP with rfc4106(gcm(aes)))
 * through the kernel's xfrm layer when a second node joins an encrypted
 * overlay. A kernel without ESP or GCM accepts the network and its
 * containers, then drops every packet between nodes: dockerd only logs
 * "Failed Adding rSA". So the question must be asked before the network
 * is made, and only the kernel can answer: each piece is there when it is
 * built in (its function is in /proc/kallsyms) or a module of it exists
 * (modules.dep / modules.builtin of the running kernel).
 */
#include "cluster_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

typedef struct {
	const char *what;   /* for the message */
	const char *symbol; /* a function only the built-in piece has */
	const char *module; /* its module's file name */
	bool found;
} piece;

/* Mark the pieces that `path` names: by function name in kallsyms lines
 * ("ffffffff8210b0f0 t esp_init_state\t[esp4]"), else by module file name
 * in a modules list ("kernel/net/ipv4/esp4.ko.xz: ..."). */
static void scan(const char *path, piece *p, size_t n, bool kallsyms)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[512], name[256];
	while (fgets(line, sizeof(line), f)) {
		if (kallsyms && sscanf(line, "%*s %*s %255s", name) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			p[i].found |= kallsyms ? !strcmp(name, p[i].symbol)
			                       : strstr(line, p[i].module) != NULL;
	}
	fclose(f);
}

bool tl__kernel_ipsec(tl_buf *why)
{
	piece p[] = {
		{"xfrm", "xfrm_state_add", "/xfrm_user.ko", false},
		{"ESP", "esp_init_state", "/esp4.ko", false},
		{"AES-GCM (rfc4106)", "crypto_rfc4106_create", "/gcm.ko", false},
	};
	size_t n = TL__ARRAY_SIZE(p);
	scan("/proc/kallsyms", p, n, true);
	struct utsname u;
	if (uname(&u) == 0) {
		char path[400];
		snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
		scan(path, p, n, false);
		snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
		scan(path, p, n, false);
	}
	tl__buf_clear(why);
	for (size_t i = 0; i < n; i++)
		if (!p[i].found)
			tl__buf_printf(why, "%s%s", why->size ? ", " : "this kernel has no IPsec ",
			               p[i].what);
	if (why->size)
		tl__buf_puts(why, " (neither built in nor a module): Docker's encrypted overlay "
		                  "would drop all traffic between nodes");
	return why->size == 0;
}

/* Strict host key checking against an OpenSSH known_hosts file.
 *
 * An unknown host is refused with its fingerprint and the command that
 * trusts it; a changed or revoked key is refused, always. Names are
 * looked up as OpenSSH writes them: "host" for port 22, "[host]:port"
 * otherwise (and only that: a key listed for port 22 says nothing about
 * another port). Lines libssh2 cannot parse (certificates, key types it
 * lacks) are skipped: they can only make a host "unknown", never trusted. */
#include "ssh_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64(tl_buf *out, const unsigned char *p, size_t n, bool pad)
{
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = {b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63],
		             b64_alphabet[(v >> 6) & 63], b64_alphabet[v & 63]};
		size_t keep = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
		if (pad)
			for (size_t k = keep; k < 4; k++)
				q[k] = '=';
		rc = tl__buf_put(out, q, pad ? 4 : keep);
	}
	return rc;
}

/* The name known_hosts uses for this host and port. */
static char *known_name(const tl_ssh *ssh)
{
	return ssh->port == 22 ? tl__strdup(ssh->host)
	                       : tl__sprintf("[%s]:%d", ssh->host, ssh->port);
}

typedef struct {
	LIBSSH2_KNOWNHOSTS *hosts;
	tl_buf revoked; /* base64 keys of "@revoked" lines, each followed by \n */
	bool missing;   /* the file does not exist */
} known_file;

static void known_dispose(known_file *kf)
{
	if (kf->hosts)
		libssh2_knownhost_free(kf->hosts);
	tl_buf_dispose(&kf->revoked);
}

static int known_load(known_file *kf, tl_ssh *ssh, const char *path)
{
	memset(kf, 0, sizeof(*kf));
	kf->hosts = libssh2_knownhost_init(ssh->session);
	if (!kf->hosts)
		return tl__error_set(TL_ENOMEM, TL_ERRCLASS_SSH, "cannot allocate known hosts");
	tl_buf text = TL_BUF_INIT;
	int rc = tl__file_read(&text, path);
	if (rc == TL_ENOTFOUND) {
		kf->missing = true;
		return TL_OK;
	}
	if (rc) {
		tl__error_prefix("reading the known_hosts file");
		return rc;
	}
	unsigned lineno = 0;
	for (char *line = text.ptr, *next; line && *line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		size_t len = strlen(line);
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (!strncmp(line, "@revoked", 8)) {
			/* "@revoked hosts keytype base64": keep the key, whatever
			 * the hosts, as OpenSSH does. */
			char *save = NULL, *f = strtok_r(line, " \t", &save);
			for (int i = 0; f && i < 3; i++)
				f = strtok_r(NULL, " \t", &save);
			if (f && ((rc = tl__buf_puts(&kf->revoked, f)) ||
			          (rc = tl__buf_putc(&kf->revoked, '\n'))))
				break;
			continue;
		}
		if (line[0] == '@')
			continue; /* @cert-authority: certificates are not supported */
		if (libssh2_knownhost_readline(kf->hosts, line, len,
		                               LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
			tl__log(ssh->ctx, TL_LOG_DEBUG, "%s:%u: skipped a line libssh2 cannot read",
			        path, lineno);
	}
	tl_buf_dispose(&text);
	return rc;
}

static const char *method_of(int typemask)
{
	switch (typemask & LIBSSH2_KNOWNHOST_KEY_MASK) {
	case LIBSSH2_KNOWNHOST_KEY_ED25519: return "ssh-ed25519";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case LIBSSH2_KNOWNHOST_KEY_SSHRSA: return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
	default: return NULL;
	}
}

static int add_one(tl_buf *list, const char *m)
{
	/* Skip names already there (compare as ",name,"). */
	char probe[128];
	snprintf(probe, sizeof(probe), ",%s,", m);
	char *have = tl__sprintf(",%s,", list->ptr ? list->ptr : "");
	if (!have)
		return TL_ENOMEM;
	bool dup = strstr(have, probe) != NULL;
	free(have);
	if (dup)
		return TL_OK;
	int rc = list->size ? tl__buf_putc(list, ',') : TL_OK;
	return rc ? rc : tl__buf_puts(list, m);
}

/* Only names this libssh2 supports: its method_pref strips the others
 * with an overlapping memcpy (libssh2 1.10), so never hand it any. */
static bool supported(LIBSSH2_SESSION *session, const char *m)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
	bool found = false;
	for (int i = 0; i < n && !found; i++)
		found = !strcmp(algs[i], m);
	if (algs)
		libssh2_free(session, (void *)algs);
	return found;
}

static int add_method(tl_buf *list, LIBSSH2_SESSION *session, const char *methods)
{
	/* `methods` may be a comma-separated list. */
	char one[64];
	for (const char *p = methods; *p;) {
		size_t l = strcspn(p, ",");
		snprintf(one, sizeof(one), "%.*s", (int)l, p);
		p += l + (p[l] == ',');
		if (!supported(session, one))
			continue;
		int rc = add_one(list, one);
		if (rc)
			return rc;
	}
	return TL_OK;
}

int tl__ssh_prefer_known_types(tl_ssh *ssh, const char *known_hosts)
{
	known_file kf;
	int rc = known_load(&kf, ssh, known_hosts);
	char *name = rc ? NULL : known_name(ssh);
	tl_buf list = TL_BUF_INIT;
	if (rc == TL_OK && !name)
		rc = TL_ENOMEM;
	/* First the key types listed for this host, then the usual order. */
	struct libssh2_knownhost *node = NULL, *prev = NULL;
	while (rc == TL_OK && libssh2_knownhost_get(kf.hosts, &node, prev) == 0) {
		prev = node;
		const char *m = method_of(node->typemask);
		if (m && node->name && !strcasecmp(node->name, name))
			rc = add_method(&list, ssh->session, m);
	}
	static const char *const usual[] = {"ssh-ed25519", "ecdsa-sha2-nistp256",
	                                    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	                                    "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"};
	for (size_t i = 0; rc == TL_OK && i < TL__ARRAY_SIZE(usual); i++)
		rc = add_method(&list, ssh->session, usual[i]);
	if (rc == TL_OK && list.size &&
	    libssh2_session_method_pref(ssh->session, LIBSSH2_METHOD_HOSTKEY, list.ptr) != 0)
		tl__log(ssh->ctx, TL_LOG_DEBUG, "libssh2 refused the host key order %s", list.ptr);
	tl_buf_dispose(&list);
	free(name);
	known_dispose(&kf);
	return rc;
}

static int key_bits(int hostkey_type, const char **label)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519: *label = "ED25519"; return LIBSSH2_KNOWNHOST_KEY_ED25519;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: *label = "ECDSA"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: *label = "ECDSA"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: *label = "ECDSA"; return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_RSA: *label = "RSA"; return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: *label = "DSA"; return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	default: *label = "unknown"; return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

static bool is_revoked(const known_file *kf, const char *key_b64)
{
	for (const char *p = kf->revoked.ptr; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p);
		if (n == strlen(key_b64) && !memcmp(p, key_b64, n))
			return true;
		p = nl + 1;
	}
	return false;
}

int tl__ssh_check_hostkey(tl_ssh *ssh, const char *known_hosts)
{
	size_t klen = 0;
	int ktype = 0;
	const char *key = libssh2_session_hostkey(ssh->session, &klen, &ktype);
	const char *hash = libssh2_hostkey_hash(ssh->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (!key || !hash)
		return tl__error_set(TL_EAUTH, TL_ERRCLASS_SSH,
		                     "%s did not present a host key", ssh->label);
	tl_buf fp = TL_BUF_INIT, keyb64 = TL_BUF_INIT;
	int rc = tl__buf_puts(&fp, "SHA256:");
	if (rc == TL_OK)
		rc = base64(&fp, (const unsigned char *)hash, 32, false);
	if (rc == TL_OK)
		rc = base64(&keyb64, (const unsigned char *)key, klen, true);
	if (rc) {
		tl_buf_dispose(&fp);
		tl_buf_dispose(&keyb64);
		return rc;
	}
	snprintf(ssh->fingerprint, sizeof(ssh->fingerprint), "%s", fp.ptr);
	tl_buf_dispose(&fp);

	known_file kf;
	char *name = NULL;
	if ((rc = known_load(&kf, ssh, known_hosts)))
		goto out;
	if (!(name = known_name(ssh))) {
		rc = TL_ENOMEM;
		goto out;
	}
	const char *label;
	int bits = key_bits(ktype, &label);
	if (is_revoked(&kf, keyb64.ptr)) {
		rc = tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, "host key revoked", LIBSSH2_KNOWNHOST_CHECK_MISMATCH,
			"REFUSED: the %s host key of %s (%s) is marked @revoked in %s. Do not "
			"connect to this server until its keys are replaced.",
			label, name, ssh->fingerprint, known_hosts);
		goto out;
	}
	struct libssh2_knownhost *found = NULL;
	int check = libssh2_knownhost_check(kf.hosts, name, key, klen,
	                                    LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	                                    LIBSSH2_KNOWNHOST_KEYENC_RAW | bits, &found);
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = TL_OK;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		rc = tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, "host key changed", check,
			"WARNING: THE HOST KEY OF %s HAS CHANGED. REFUSING TO CONNECT. The server "
			"now presents the %s key %s, which differs from the key listed in %s. "
			"Someone may be intercepting the connection (man-in-the-middle), or the "
			"server was reinstalled. Verify the new fingerprint out of band (on the "
			"server: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub); only then remove "
			"the old entry with: ssh-keygen -R '%s' -f %s",
			name, label, ssh->fingerprint, known_hosts,
			bits == LIBSSH2_KNOWNHOST_KEY_ED25519 ? "ed25519"
			: bits == LIBSSH2_KNOWNHOST_KEY_SSHRSA ? "rsa" : "ecdsa",
			name, known_hosts);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND: {
		char port_arg[16] = "";
		if (ssh->port != 22)
			snprintf(port_arg, sizeof(port_arg), "-p %d ", ssh->port);
		rc = tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, "host key unknown", check,
			"unknown SSH host %s: its %s key %s is not in %s%s; refusing to connect. "
			"To trust it, first verify that fingerprint out of band (on the server: "
			"ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then run: "
			"ssh-keyscan %s%s >> %s",
			name, label, ssh->fingerprint, known_hosts,
			kf.missing ? " (the file does not exist)" : "",
			bits == LIBSSH2_KNOWNHOST_KEY_ED25519 ? "ed25519"
			: bits == LIBSSH2_KNOWNHOST_KEY_SSHRSA ? "rsa" : "ecdsa",
			port_arg, ssh->host, known_hosts);
		break;
	}
	default:
		rc = tl__ssh_fail(ssh, LIBSSH2_ERROR_KNOWN_HOSTS, "checking the host key");
		break;
	}
out:
	free(name);
	tl_buf_dispose(&keyb64);
	known_dispose(&kf);
	return rc;
}

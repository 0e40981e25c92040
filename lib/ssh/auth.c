/* User authentication: a private key file (OpenSSH or PEM format, with an
 * optional passphrase) or the keys of a running ssh-agent. */
#include "ssh_internal.h"

#include <stdlib.h>
#include <string.h>

static int with_key_file(tl_ssh *ssh, const char *key_path, const char *passphrase)
{
	int s = libssh2_userauth_publickey_fromfile_ex(ssh->session, ssh->user,
	                                               (unsigned)strlen(ssh->user), NULL,
	                                               key_path, passphrase);
	if (s == 0)
		return TL_OK;
	if (s == LIBSSH2_ERROR_FILE || s == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED) {
		tl__ssh_fail(ssh, s, "reading the SSH key");
		return tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, "", s,
			"cannot use the SSH key %s: %s. Is the passphrase right (or needed)? "
			"Supported: ed25519, ECDSA and RSA keys in OpenSSH or PEM format.",
			key_path, passphrase ? "wrong passphrase or unsupported key"
			                     : "unreadable, encrypted or unsupported key");
	}
	if (s == LIBSSH2_ERROR_AUTHENTICATION_FAILED || s == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
		char code[16];
		snprintf(code, sizeof(code), "%d", s);
		return tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, code, s,
			"%s refused the key %s for user '%s'; add its public key to that user's "
			"~/.ssh/authorized_keys on the server", ssh->label, key_path, ssh->user);
	}
	return tl__ssh_fail(ssh, s, "authenticating with a key");
}

static int with_agent(tl_ssh *ssh)
{
	LIBSSH2_AGENT *agent = libssh2_agent_init(ssh->session);
	if (!agent)
		return tl__ssh_fail(ssh, LIBSSH2_ERROR_ALLOC, "starting the ssh-agent client");
	int rc;
	int s = libssh2_agent_connect(agent);
	if (s) {
		rc = tl__error_set_upstream(
			TL_EAUTH, TL_ERRCLASS_SSH, "", s,
			"no SSH key given and no ssh-agent to ask ($SSH_AUTH_SOCK %s); give a key "
			"file (--ssh-key) or start ssh-agent and ssh-add a key",
			getenv("SSH_AUTH_SOCK") ? "does not answer" : "is not set");
		libssh2_agent_free(agent);
		return rc;
	}
	rc = TL_EAUTH;
	if ((s = libssh2_agent_list_identities(agent))) {
		rc = tl__ssh_fail(ssh, s, "listing the ssh-agent's keys");
		goto out;
	}
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int tried = 0;
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		prev = id;
		tried++;
		s = libssh2_agent_userauth(agent, ssh->user, id);
		if (s == 0) {
			rc = TL_OK;
			goto out;
		}
		if (s != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
		    s != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && s != LIBSSH2_ERROR_AGENT_PROTOCOL) {
			rc = tl__ssh_fail(ssh, s, "authenticating with the ssh-agent");
			goto out;
		}
	}
	rc = tl__error_set_upstream(TL_EAUTH, TL_ERRCLASS_SSH, "", LIBSSH2_ERROR_AUTHENTICATION_FAILED,
	                            "%s refused all %d key(s) of the ssh-agent for user '%s'",
	                            ssh->label, tried, ssh->user);
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

int tl__ssh_authenticate(tl_ssh *ssh, const char *key_path, const char *passphrase)
{
	int rc = tl__step(ssh->ctx, "ssh.auth", ssh->host, "Authenticating as %s", ssh->user);
	if (rc)
		return rc;
	return key_path ? with_key_file(ssh, key_path, passphrase) : with_agent(ssh);
}

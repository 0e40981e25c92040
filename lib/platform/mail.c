/*
 * Alert e-mail through a transactional mail HTTP API: Postmark
 * (POST /email, X-Postmark-Server-Token) or Amazon SES v2
 * (POST /v2/email/outbound-emails, SigV4 by libcurl). The token never
 * reaches a message or an event.
 */
#include "core/http.h"
#include "platform_int.h"

#include "core/url.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* 127.0.0.0/8, ::1 or "localhost": traffic that never leaves the host. */
static bool loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (!strcmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int tl__mail_check_endpoint(const char *endpoint)
{
	if (!endpoint || !*endpoint)
		return TL_OK; /* the provider's own https URL */
	tl__url u;
	int rc = tl__url_parse(&u, endpoint, "TOWLION_ALERT_MAIL_ENDPOINT");
	if (rc)
		return rc;
	if (!strcmp(u.scheme, "http") && !loopback_host(u.host))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_ALERT_MAIL_ENDPOINT: plain http:// to %s would send the "
		                   "mail API token and the alerts unencrypted; use https:// (http:// "
		                   "is accepted only for a loopback address)",
		                   u.host);
	else if (strcmp(u.scheme, "http") && strcmp(u.scheme, "https"))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_ALERT_MAIL_ENDPOINT: scheme %s:// is not https://",
		                   u.scheme);
	else if (u.user || u.password)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_ALERT_MAIL_ENDPOINT: credentials in the URL are not "
		                   "used; put the token in TOWLION_ALERT_MAIL_TOKEN");
	tl__url_dispose(&u);
	return rc;
}

int tl__mail_send(tl_ctx *ctx, const tl__mail *m, const char *subject, const char *text)
{
	int erc = tl__mail_check_endpoint(m->endpoint);
	if (erc)
		return erc;
	bool ses = !strcmp(m->provider, "ses");
	if (!ses && strcmp(m->provider, "postmark"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "mail provider \"%s\" is neither postmark nor ses", m->provider);
	if (!m->token || !*m->token || !m->from || !*m->from || !m->to || !*m->to)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "alert e-mail through %s needs TOWLION_ALERT_MAIL_TOKEN, "
		                     "_FROM and _TO",
		                     m->provider);
	if (ses && !strchr(m->token, ':'))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "the SES token must be ACCESS_KEY:SECRET_KEY");
	const char *region = m->region && *m->region ? m->region : "us-east-1";
	char *base = m->endpoint && *m->endpoint
	                 ? tl__strdup(m->endpoint)
	                 : ses ? tl__sprintf("https://email.%s.amazonaws.com", region)
	                       : tl__strdup("https://api.postmarkapp.com");
	size_t bl = base ? strlen(base) : 0;
	while (bl && base[bl - 1] == '/')
		base[--bl] = '\0';
	char *url = base ? tl__sprintf("%s%s", base, ses ? "/v2/email/outbound-emails" : "/email")
	                 : NULL;
	json_t *body = ses ? json_pack("{s:s, s:{s:[s]}, s:{s:{s:{s:s}, s:{s:{s:s}}}}}",
	                               "FromEmailAddress", m->from, "Destination", "ToAddresses",
	                               m->to, "Content", "Simple", "Subject", "Data", subject,
	                               "Body", "Text", "Data", text)
	                   : json_pack("{s:s, s:s, s:s, s:s, s:s}", "From", m->from, "To", m->to,
	                               "Subject", subject, "TextBody", text, "MessageStream",
	                               "outbound");
	char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	char *tokhdr = ses ? NULL : tl__sprintf("X-Postmark-Server-Token: %s", m->token);
	char *sigv4 = ses ? tl__sprintf("aws:amz:%s:ses", region) : NULL;
	int rc = TL_OK;
	if (!url || !js || (ses ? !sigv4 : !tokhdr)) {
		rc = tl__error_oom();
		goto out;
	}
	const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
	                         tokhdr, NULL};
	tl__http_req req = {.method = "POST", .url = url, .headers = headers,
	                    .body = js, .body_len = strlen(js), .timeout_ms = 15000,
	                    .service = ses ? "Amazon SES" : "Postmark",
	                    .klass = TL_ERRCLASS_HTTP, .userpwd = ses ? m->token : NULL,
	                    .aws_sigv4 = sigv4};
	tl__http_resp resp;
	if ((rc = tl__http_do(ctx, &resp, &req)))
		goto out;
	if (resp.status < 200 || resp.status >= 300) {
		json_t *e = json_loadb(resp.body.ptr, resp.body.size, 0, NULL);
		const char *msg = json_string_value(json_object_get(e, "Message"));
		if (!msg)
			msg = json_string_value(json_object_get(e, "message"));
		rc = tl__error_set_upstream(resp.status == 401 || resp.status == 403 ? TL_EAUTH
		                                                                     : TL_ERROR,
		                            TL_ERRCLASS_HTTP, NULL, resp.status,
		                            "%s refused the alert e-mail to %s (HTTP %ld): %s",
		                            req.service, m->to, resp.status,
		                            msg ? msg : "no message");
		json_decref(e);
	}
	tl__http_resp_dispose(&resp);
out:
	tl__free_secret(tokhdr);
	free(sigv4);
	free(js);
	free(url);
	free(base);
	return rc;
}

/* The bootstrap steps, in order. Each is a check (a script that exits 0
 * when the server is as wanted, 10 saying what differs, 20 when it cannot
 * be made so) and a change; the engine (bootstrap.c) checks again after a
 * change. Scripts are constants: values travel as arguments or stdin. */
#include "server_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- os: Debian 12, systemd, disk, memory (check only) ------------------ */

static const char os_sh[] =
	". /etc/os-release\n"
	"if [ \"${ID:-}\" != debian ] || [ \"${VERSION_ID:-}\" != 12 ]; then\n"
	"  echo \"the server runs ${PRETTY_NAME:-an unknown system}, not Debian 12 (bookworm)\"; exit 20\n"
	"fi\n"
	"[ -d /run/systemd/system ] || { echo \"systemd is not running (PID 1 is $(cat /proc/1/comm))\"; exit 20; }\n"
	"disk=$(df -Pm /var | awk 'NR == 2 { print $4 }')\n"
	"mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)\n"
	"[ \"$disk\" -ge \"$1\" ] || { echo \"$disk MiB free on /var, bootstrap needs $1 MiB\"; exit 20; }\n"
	"[ \"$mem\" -ge \"$2\" ] || { echo \"$mem MiB of memory, bootstrap needs $2 MiB\"; exit 20; }\n"
	"echo \"Debian $(cat /etc/debian_version), systemd, $disk MiB free on /var, $mem MiB of memory\"\n";

static int os_check(tl__srv *s)
{
	char disk[32], mem[32];
	snprintf(disk, sizeof(disk), "%ld", s->o.min_disk_mb);
	snprintf(mem, sizeof(mem), "%ld", s->o.min_memory_mb);
	const char *args[] = {disk, mem, NULL};
	return tl__srv_check(s, os_sh, args, NULL);
}

/* ---- packages: what the platform needs from Debian ---------------------- */

/* docker.io runs the platform; nftables the firewall; unattended-upgrades
 * the security updates; sudo the deploy user's one rule; git and curl
 * what `deploy --git` and health checks use. */
static const char *const debian_packages[] = {
	"docker.io", "nftables", "unattended-upgrades", "sudo", "git", "curl", "ca-certificates",
	NULL};

static const char packages_check_sh[] =
	"missing=\n"
	"for p; do\n"
	"  [ \"$(dpkg-query -W -f='${db:Status-Status}' \"$p\" 2>/dev/null)\" = installed ] || missing=\"$missing $p\"\n"
	"done\n"
	"[ -z \"$missing\" ] || { echo \"apt-get install$missing\"; exit 10; }\n"
	"echo \"installed: $*\"\n";

static const char apt_install_sh[] =
	"export DEBIAN_FRONTEND=noninteractive\n"
	"apt-get update -q && apt-get install -y -q --no-install-recommends "
	"-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \"$@\"\n";

static int packages_check(tl__srv *s)
{
	return tl__srv_check(s, packages_check_sh, debian_packages, NULL);
}

static int packages_apply(tl__srv *s)
{
	return tl__srv_do(s, "apt-get install", apt_install_sh, debian_packages, NULL);
}

/* ---- towlion: the .debs from the operator's machine --------------------- */

#define DEB_DIR TL__SRV_STATE "/debs"

/* $1 the directory, then SHA NAME pairs: each file there with that hash
 * and its Package at its Version installed. */
static const char debs_check_sh[] =
	"d=$1; shift; changes=; have=\n"
	"while [ $# -ge 2 ]; do\n"
	"  f=$d/$2\n"
	"  if [ -f \"$f\" ] && [ \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" = \"$1\" ] &&\n"
	"     p=$(dpkg-deb -f \"$f\" Package) && v=$(dpkg-deb -f \"$f\" Version) &&\n"
	"     [ \"$(dpkg-query -W -f='${Version} ${db:Status-Status}' \"$p\" 2>/dev/null)\" = \"$v installed\" ]; then\n"
	"    have=\"$have${have:+, }$p $v\"\n"
	"  else changes=\"$changes $2\"; fi\n"
	"  shift 2\n"
	"done\n"
	"[ -z \"$changes\" ] || { echo \"upload and install$changes\"; exit 10; }\n"
	"echo \"installed: $have\"\n";

/* The package sources the server takes itself ($2...: absolute paths of
 * .debs or directories, http(s) URLs), each .deb's Package at its Version
 * installed. A URL is fetched once, to $1/fetched/<its hash>/<its name>. */
static const char sources_check_sh[] =
	"d=$1; shift; changes=; have=\n"
	"one() {\n"
	"  if p=$(dpkg-deb -f \"$1\" Package 2>/dev/null) && v=$(dpkg-deb -f \"$1\" Version) &&\n"
	"     [ \"$(dpkg-query -W -f='${Version} ${db:Status-Status}' \"$p\" 2>/dev/null)\" = \"$v installed\" ]; then\n"
	"    have=\"$have${have:+, }$p $v\"\n"
	"  else changes=\"$changes install $1\"; fi\n"
	"}\n"
	"for src; do\n"
	"  case $src in\n"
	"  http://*|https://*)\n"
	"    f=$d/fetched/$(printf '%s' \"$src\" | sha256sum | cut -c1-16)/${src##*/}\n"
	"    if [ -f \"$f\" ]; then one \"$f\"; else changes=\"$changes fetch $src\"; fi;;\n"
	"  *)\n"
	"    if [ -d \"$src\" ]; then\n"
	"      found=\n"
	"      for f in \"$src\"/*.deb; do [ -f \"$f\" ] && { found=1; one \"$f\"; }; done\n"
	"      [ \"$found\" ] || { echo \"$src on the server holds no .deb file\"; exit 20; }\n"
	"    elif [ -f \"$src\" ]; then one \"$src\"\n"
	"    else echo \"$src: no such file or directory on the server\"; exit 20; fi;;\n"
	"  esac\n"
	"done\n"
	"[ -z \"$changes\" ] || { echo \"${changes# }\"; exit 10; }\n"
	"echo \"installed: $have\"\n";

/* $1 the directory, then the uploaded .debs (paths on the server) and the
 * sources: URLs not fetched yet are fetched (a file that is not a .deb is
 * refused), directories become their .debs, and all of them go to one
 * apt-get, which installs them with their dependencies from the server's
 * own sources and upgrades or downgrades to exactly them. */
static const char install_sh[] =
	"set -e; d=$1; shift; n=$#\n"
	"export DEBIAN_FRONTEND=noninteractive\n"
	"for src; do\n"
	"  case $src in\n"
	"  http://*|https://*)\n"
	"    k=$d/fetched/$(printf '%s' \"$src\" | sha256sum | cut -c1-16); f=$k/${src##*/}\n"
	"    if [ ! -f \"$f\" ]; then\n"
	"      mkdir -p -m 0700 \"$k\"\n"
	"      curl -fsSL --proto =http,https --retry 2 -o \"$f.part\" \"$src\"\n"
	"      dpkg-deb -f \"$f.part\" Package > /dev/null || { echo \"$src is not a .deb\" >&2; rm -f \"$f.part\"; exit 1; }\n"
	"      mv -f \"$f.part\" \"$f\"\n"
	"    fi\n"
	"    set -- \"$@\" \"$f\";;\n"
	"  *)\n"
	"    if [ -d \"$src\" ]; then\n"
	"      for f in \"$src\"/*.deb; do [ -f \"$f\" ] && set -- \"$@\" \"$f\"; done\n"
	"    else set -- \"$@\" \"$src\"; fi;;\n"
	"  esac\n"
	"done\n"
	"shift $n\n"
	"apt-get update -q && apt-get install -y -q --no-install-recommends "
	"--allow-downgrades -o Dpkg::Options::=--force-confold \"$@\"\n";

static const char towlion_present_sh[] =
	"command -v towlion > /dev/null || { echo 'towlion is not installed on the server: "
	"give its packages (--packages DIR, or --packages-from PATH|URL)'; exit 20; }\n"
	"echo \"installed: $(towlion --version)\"\n";

static const char *deb_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool has_sources(const tl__srv *s)
{
	return s->o.package_sources && s->o.package_sources[0];
}

/* The uploaded packages' check, then the sources'; what either would
 * change is said together. */
static int towlion_check(tl__srv *s)
{
	if (!s->o.packages && !has_sources(s))
		return tl__srv_check(s, towlion_present_sh, NULL, NULL);
	int rc = TL__SRV_OK;
	tl_buf why = TL_BUF_INIT;
	if (s->o.packages) {
		char **args = NULL;
		rc = tl__strv_push(&args, DEB_DIR);
		for (size_t i = 0; !rc && s->o.packages[i]; i++)
			if (!(rc = tl__strv_push(&args, s->deb_sha[i])))
				rc = tl__strv_push(&args, deb_name(s->o.packages[i]));
		if (!rc)
			rc = tl__srv_check(s, debs_check_sh, (const char *const *)args, NULL);
		tl__strv_free(args);
		if (rc >= 0 && s->why.size)
			tl__buf_put(&why, s->why.ptr, s->why.size);
	}
	if (rc >= 0 && has_sources(s)) {
		char **args = NULL;
		int src_rc = tl__strv_push(&args, DEB_DIR);
		for (size_t i = 0; !src_rc && s->o.package_sources[i]; i++)
			src_rc = tl__strv_push(&args, s->o.package_sources[i]);
		if (!src_rc)
			src_rc = tl__srv_check(s, sources_check_sh, (const char *const *)args, NULL);
		tl__strv_free(args);
		if (src_rc >= 0 && s->why.size)
			tl__buf_printf(&why, "%s%.*s", why.size ? "; " : "", (int)s->why.size, s->why.ptr);
		rc = src_rc < 0 ? src_rc : rc == TL__SRV_CHANGE ? rc : src_rc;
	}
	if (rc >= 0) {
		tl_buf_dispose(&s->why);
		s->why = why;
	} else {
		tl_buf_dispose(&why);
	}
	return rc;
}

static int towlion_apply(tl__srv *s)
{
	char **args = NULL;
	int rc = tl__strv_push(&args, DEB_DIR);
	for (size_t i = 0; !rc && s->o.packages && s->o.packages[i]; i++) {
		char *remote = tl__path_join(DEB_DIR, deb_name(s->o.packages[i]));
		rc = remote ? tl__srv_upload_once(s, s->o.packages[i], remote, s->deb_sha[i])
		            : TL_ENOMEM;
		if (!rc)
			rc = tl__strv_push(&args, remote);
		free(remote);
	}
	for (size_t i = 0; !rc && has_sources(s) && s->o.package_sources[i]; i++)
		rc = tl__strv_push(&args, s->o.package_sources[i]);
	if (!rc)
		rc = tl__srv_do(s, "installing the towlion packages", install_sh,
		                (const char *const *)args, NULL);
	tl__strv_free(args);
	return rc;
}

/* ---- docker: daemon.json and the service -------------------------------- */

/* Address pools big enough for a network per app and preview, and log
 * rotation (docs/platform.md). A daemon.json the administrator wrote is
 * kept as it is. */
static const char daemon_json[] =
	"{\"default-address-pools\": [{\"base\": \"172.20.0.0/14\", \"size\": 24}],\n"
	" \"log-driver\": \"json-file\", \"log-opts\": {\"max-size\": \"10m\", \"max-file\": \"3\"}}";

static const char docker_check_sh[] =
	"w=$(cat); f=/etc/docker/daemon.json\n"
	"if [ ! -e $f ]; then echo \"write $f, enable and start docker\"; exit 10; fi\n"
	"if [ \"$(cat $f)\" = \"$w\" ]; then d='daemon.json: address pools, log rotation'; "
	"else d=\"your own $f is kept\"; fi\n"
	"systemctl is-enabled --quiet docker && systemctl is-active --quiet docker || "
	"{ echo 'enable and start docker'; exit 10; }\n"
	"echo \"$d; docker $(docker version -f '{{.Server.Version}}') running\"\n";

static const char docker_apply_sh[] =
	"set -e; w=$(cat); f=/etc/docker/daemon.json; restart=\n"
	"if [ ! -e $f ]; then\n"
	"  mkdir -p /etc/docker; printf '%s\\n' \"$w\" > $f.towlion-new; mv -f $f.towlion-new $f; restart=1\n"
	"fi\n"
	"systemctl enable --quiet docker\n"
	"if [ \"$restart\" ]; then systemctl restart docker; else systemctl start docker; fi\n";

static int docker_check(tl__srv *s)
{
	tl_buf in = {(char *)daemon_json, sizeof(daemon_json) - 1, 0};
	return tl__srv_check(s, docker_check_sh, NULL, &in);
}

static int docker_apply(tl__srv *s)
{
	tl_buf in = {(char *)daemon_json, sizeof(daemon_json) - 1, 0};
	return tl__srv_do(s, "configuring docker", docker_apply_sh, NULL, &in);
}

/* ---- images: docker-save tars loaded once -------------------------------- */

#define IMAGE_DIR TL__SRV_STATE "/images"

/* $1 the directory, then SHA NAME pairs. A tar is loaded when the file
 * named by its hash lists images that all exist. */
static const char images_check_sh[] =
	"d=$1; shift; changes=; n=0\n"
	"while [ $# -ge 2 ]; do\n"
	"  names=$(cat \"$d/$1\" 2>/dev/null) && [ -n \"$names\" ] &&\n"
	"    docker image inspect $names > /dev/null 2>&1 && n=$((n + 1)) || changes=\"$changes $2\"\n"
	"  shift 2\n"
	"done\n"
	"[ -z \"$changes\" ] || { echo \"upload and load$changes\"; exit 10; }\n"
	"echo \"$n image archives loaded\"\n";

static const char image_load_sh[] =
	"set -e; d=$1 sha=$2\n"
	"docker load -i \"$d/$sha.tar\" > \"$d/$sha.out\"\n"
	"sed -n 's/^Loaded image: //p; s/^Loaded image ID: //p' \"$d/$sha.out\" > \"$d/$sha.new\"\n"
	"[ -s \"$d/$sha.new\" ] || { echo \"docker load named no image\" >&2; exit 1; }\n"
	"mv -f \"$d/$sha.new\" \"$d/$sha\"; rm -f \"$d/$sha.tar\" \"$d/$sha.out\"\n";

static int image_args(tl__srv *s, char ***args, size_t only, bool one)
{
	int rc = tl__strv_push(args, IMAGE_DIR);
	for (size_t i = 0; !rc && s->o.images[i]; i++) {
		if (one && i != only)
			continue;
		if (!(rc = tl__strv_push(args, s->image_sha[i])))
			rc = tl__strv_push(args, deb_name(s->o.images[i]));
	}
	return rc;
}

static int images_check(tl__srv *s)
{
	char **args = NULL;
	int rc = image_args(s, &args, 0, false);
	if (!rc)
		rc = tl__srv_check(s, images_check_sh, (const char *const *)args, NULL);
	tl__strv_free(args);
	return rc;
}

static int images_apply(tl__srv *s)
{
	int rc = TL_OK;
	for (size_t i = 0; !rc && s->o.images[i]; i++) {
		char **args = NULL;
		if (!(rc = image_args(s, &args, i, true)))
			rc = tl__srv_check(s, images_check_sh, (const char *const *)args, NULL);
		tl__strv_free(args);
		if (rc != TL__SRV_CHANGE)
			continue;
		tl_buf remote = TL_BUF_INIT;
		rc = tl__buf_printf(&remote, "%s/%s.tar", IMAGE_DIR, s->image_sha[i]);
		if (!rc)
			rc = tl__srv_upload_once(s, s->o.images[i], remote.ptr, s->image_sha[i]);
		tl_buf_dispose(&remote);
		const char *largs[] = {IMAGE_DIR, s->image_sha[i], NULL};
		if (!rc)
			rc = tl__srv_do(s, "docker load", image_load_sh, largs, NULL);
	}
	return rc;
}

static bool images_wanted(const tl__srv *s) { return s->o.images && s->o.images[0]; }

/* ---- upgrades: unattended-upgrades, security updates only --------------- */

static const tl__srv_file upgrade_files[] = {
	{"/etc/apt/apt.conf.d/20auto-upgrades", "0644",
	 "APT::Periodic::Update-Package-Lists \"1\";\n"
	 "APT::Periodic::Unattended-Upgrade \"1\";\n"},
	{"/etc/apt/apt.conf.d/52towlion-security-only", "0644",
	 "// Written by towlion server bootstrap: unattended-upgrades installs\n"
	 "// security updates only (Debian's default also takes point releases).\n"
	 "#clear Unattended-Upgrade::Origins-Pattern;\n"
	 "Unattended-Upgrade::Origins-Pattern {\n"
	 "\t\"origin=Debian,codename=${distro_codename},label=Debian-Security\";\n"
	 "\t\"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\";\n"
	 "};\n"},
};

static const char *const apt_timers[] = {"apt-daily.timer", "apt-daily-upgrade.timer", NULL};

static const char units_check_sh[] =
	"changes=\n"
	"for u; do\n"
	"  systemctl cat \"$u\" > /dev/null 2>&1 || { echo \"$u is not installed\"; exit 20; }\n"
	"  systemctl is-enabled --quiet \"$u\" && systemctl is-active --quiet \"$u\" || changes=\"$changes $u\"\n"
	"done\n"
	"[ -z \"$changes\" ] || { echo \"enable and start$changes\"; exit 10; }\n"
	"echo \"enabled: $*\"\n";

static const char units_enable_sh[] = "systemctl enable --quiet --now \"$@\"";

static int upgrades_check(tl__srv *s)
{
	int rc = tl__srv_files_check(s, upgrade_files, TL__ARRAY_SIZE(upgrade_files));
	if (rc != TL__SRV_OK)
		return rc;
	if ((rc = tl__srv_check(s, units_check_sh, apt_timers, NULL)) == TL__SRV_OK)
		tl__buf_puts(&s->why, "; security updates only");
	return rc;
}

static int upgrades_apply(tl__srv *s)
{
	int rc = tl__srv_files_put(s, upgrade_files, TL__ARRAY_SIZE(upgrade_files));
	return rc ? rc : tl__srv_do(s, "enabling apt's timers", units_enable_sh, apt_timers, NULL);
}

/* ---- user: the deploy user, its key, its sudo rule ----------------------- */

/* The deploy user runs towlion, and only towlion, as root: one sudo rule.
 * Its login runs `towlion` from the PATH, which finds the wrapper in
 * /usr/local/bin, so `towlion --host deploy@server ...` works unchanged.
 * (The docker group would not do: the platform's generated towlion.conf
 * is root's, 0600, and towlion refuses one that belongs to another user.) */
static const char towlion_wrapper[] =
	"#!/bin/sh\n"
	"# Written by towlion server bootstrap: the deploy user runs towlion as\n"
	"# root through its one sudo rule (/etc/sudoers.d/towlion-deploy).\n"
	"[ \"$(id -u)\" = 0 ] && exec /usr/bin/towlion \"$@\"\n"
	"exec sudo -n /usr/bin/towlion \"$@\"\n";

static const char user_check_sh[] =
	"u=$1 key=$2 changes=\n"
	"if ! getent passwd \"$u\" > /dev/null; then echo \"create user $u with its key\"; exit 10; fi\n"
	"[ \"$(id -u \"$u\")\" != 0 ] || { echo \"$u is root: the deploy user must not be\"; exit 20; }\n"
	"groups=$(id -Gn \"$u\")\n"
	"[ \"$groups\" = \"$u\" ] || { echo \"user $u is in the groups $groups: the deploy user gets "
	"no group but its own (docker or sudo would make it root); take it out of them or give "
	"another --deploy-user\"; exit 20; }\n"
	"h=$(getent passwd \"$u\" | cut -d: -f6)\n"
	"grep -qxF \"$key\" \"$h/.ssh/authorized_keys\" 2>/dev/null || changes=\"add the deploy key to $h/.ssh/authorized_keys\"\n"
	"[ \"$(stat -c %U:%a \"$h/.ssh/authorized_keys\" 2>/dev/null)\" = \"$u:600\" ] || changes=\"${changes:-fix the mode of $h/.ssh/authorized_keys}\"\n"
	"[ -z \"$changes\" ] || { echo \"$changes\"; exit 10; }\n"
	"echo \"user $u with the deploy key, in no group but its own; sudo: /usr/bin/towlion only\"\n";

static const char user_apply_sh[] =
	"set -e; u=$1 key=$2\n"
	"getent passwd \"$u\" > /dev/null || useradd --create-home --user-group --shell /bin/sh \"$u\"\n"
	"h=$(getent passwd \"$u\" | cut -d: -f6)\n"
	"install -d -m 0700 -o \"$u\" -g \"$u\" \"$h/.ssh\"\n"
	"f=$h/.ssh/authorized_keys; touch \"$f\"\n"
	"grep -qxF \"$key\" \"$f\" || printf '%s\\n' \"$key\" >> \"$f\"\n"
	"chown \"$u:$u\" \"$f\"; chmod 0600 \"$f\"\n"
	"visudo -cqf /etc/sudoers.d/towlion-deploy\n";

static int user_files(tl__srv *s, tl__srv_file files[2], tl_buf *rule)
{
	int rc = tl__buf_printf(rule,
	                        "# Written by towlion server bootstrap: the deploy user runs "
	                        "towlion as root, nothing else.\n"
	                        "%s ALL=(root) NOPASSWD: /usr/bin/towlion\n",
	                        s->o.deploy_user);
	files[0] = (tl__srv_file){"/etc/sudoers.d/towlion-deploy", "0440", rule->ptr};
	files[1] = (tl__srv_file){"/usr/local/bin/towlion", "0755", towlion_wrapper};
	return rc;
}

static int user_check(tl__srv *s)
{
	tl_buf rule = TL_BUF_INIT;
	tl__srv_file files[2];
	int rc = user_files(s, files, &rule);
	if (!rc)
		rc = tl__srv_files_check(s, files, 2);
	if (rc == TL__SRV_OK) {
		const char *args[] = {s->o.deploy_user, s->o.deploy_key, NULL};
		rc = tl__srv_check(s, user_check_sh, args, NULL);
	}
	tl_buf_dispose(&rule);
	return rc;
}

static int user_apply(tl__srv *s)
{
	tl_buf rule = TL_BUF_INIT;
	tl__srv_file files[2];
	int rc = user_files(s, files, &rule);
	if (!rc)
		rc = tl__srv_files_put(s, files, 2);
	const char *args[] = {s->o.deploy_user, s->o.deploy_key, NULL};
	if (!rc)
		rc = tl__srv_do(s, "setting up the deploy user", user_apply_sh, args, NULL);
	tl_buf_dispose(&rule);
	return rc;
}

static bool user_wanted(const tl__srv *s) { return s->o.deploy_key != NULL; }

/* ---- config: KEY=VALUE lines of /etc/towlion/towlion.conf --------------- */

#define CONF_PATH "/etc/towlion/towlion.conf"

/* The file as it should be: the lines there, each given key's line
 * replaced (or appended), comments and other keys kept. */
static int config_wanted_text(tl__srv *s, tl_buf *want)
{
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	static const char cat_sh[] = "[ ! -e \"$1\" ] || cat \"$1\"";
	const char *args[] = {CONF_PATH, NULL};
	int rc = tl__srv_sh(s, &res, true, cat_sh, args, NULL);
	if (rc == TL_OK && res.exit_status != 0)
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS, "%s: cannot read %s", s->host,
		                   CONF_PATH);
	size_t nkeys = 0;
	while (s->o.config[nkeys])
		nkeys++;
	bool *done = calloc(nkeys + 1, 1);
	if (!done)
		rc = tl__error_oom();
	char *p = res.out.ptr, *end = res.out.ptr + res.out.size;
	while (!rc && p && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;
		for (size_t k = 0; k < nkeys; k++) {
			size_t kl = strcspn(s->o.config[k], "=");
			if (len > kl && !strncmp(p, s->o.config[k], kl + 1)) {
				line = done[k] ? NULL : s->o.config[k];
				len = line == p ? len : line ? strlen(line) : 0;
				done[k] = true;
				break;
			}
		}
		if (line)
			rc = tl__buf_put(want, line, len) || tl__buf_putc(want, '\n');
		p = nl ? nl + 1 : end;
	}
	for (size_t k = 0; !rc && k < nkeys; k++)
		if (!done[k])
			rc = tl__buf_printf(want, "%s\n", s->o.config[k]);
	free(done);
	tl_ssh_result_dispose(&res);
	return rc ? (rc < 0 ? rc : tl__error_oom()) : TL_OK;
}

static int config_check(tl__srv *s)
{
	tl_buf want = TL_BUF_INIT;
	int rc = config_wanted_text(s, &want);
	tl__srv_file f = {CONF_PATH, "0600", want.ptr};
	if (!rc && (rc = tl__srv_files_check(s, &f, 1)) == TL__SRV_OK)
		tl__buf_printf(&s->why, "%s has the given keys", CONF_PATH);
	tl_buf_dispose(&want);
	return rc;
}

static int config_apply(tl__srv *s)
{
	tl_buf want = TL_BUF_INIT;
	int rc = config_wanted_text(s, &want);
	tl__srv_file f = {CONF_PATH, "0600", want.ptr};
	if (!rc)
		rc = tl__srv_files_put(s, &f, 1);
	tl_buf_dispose(&want);
	return rc;
}

static bool config_wanted(const tl__srv *s) { return s->o.config && s->o.config[0]; }

/* ---- init, up, timers, doctor: towlion on the server -------------------- */

static const char need_towlion_sh[] =
	"command -v towlion > /dev/null || { echo 'towlion is not installed yet'; exit 10; }\n";

static int init_check(tl__srv *s)
{
	static const char sh[] = "command -v towlion > /dev/null || exit 10\n"
	                         "exec towlion --json --dry-run platform init";
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, true, sh, NULL, NULL);
	if (rc == TL_OK && res.exit_status == 10) {
		tl__buf_set(&s->why, "platform init (once towlion is installed)", 41);
		rc = TL__SRV_CHANGE;
	} else if (rc == TL_OK) {
		json_t *doc = json_loadb(res.out.ptr ? res.out.ptr : "", res.out.size, 0, NULL);
		json_t *changed = json_object_get(doc, "changed");
		if (res.exit_status != 0 || !json_is_integer(changed))
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS,
			                   "%s: towlion platform init --dry-run failed (exit %d): %s",
			                   s->host, res.exit_status,
			                   res.err.size ? res.err.ptr : "(no report)");
		else if (json_integer_value(changed) > 0) {
			tl__buf_set(&s->why, "", 0);
			tl__buf_printf(&s->why, "platform init: %lld change%s",
			               (long long)json_integer_value(changed),
			               json_integer_value(changed) == 1 ? "" : "s");
			rc = TL__SRV_CHANGE;
		} else {
			tl__buf_set(&s->why, "", 0);
			tl__buf_puts(&s->why, "directories, secrets, Caddyfile and network in place");
		}
		json_decref(doc);
	}
	tl_ssh_result_dispose(&res);
	return rc;
}

static int init_apply(tl__srv *s)
{
	static const char sh[] = "exec towlion platform init";
	return tl__srv_do(s, "towlion platform init", sh, NULL, NULL);
}

/* The platform is up when doctor is green. */
static const char doctor_sh[] =
	"out=$(towlion doctor 2>&1); rc=$?\n"
	"[ $rc = 0 ] && { echo 'towlion doctor: all green'; exit 0; }\n"
	"echo \"not green: $(echo \"$out\" | awk '/^[a-z]/ && $1 != \"ok\" { printf \"%s%s %s\", s, $2, $1; s = \", \" }')\"\n"
	"exit 10\n";

static int up_check(tl__srv *s)
{
	tl_buf sh = TL_BUF_INIT;
	int rc = tl__buf_printf(&sh, "%s%s", need_towlion_sh, doctor_sh);
	if (!rc && (rc = tl__srv_check(s, sh.ptr, NULL, NULL)) == TL__SRV_CHANGE) {
		tl_buf why = TL_BUF_INIT;
		tl__buf_printf(&why, "platform up (doctor %s)", s->why.ptr ? s->why.ptr : "");
		tl_buf_dispose(&s->why);
		s->why = why;
	}
	tl_buf_dispose(&sh);
	return rc;
}

static int up_apply(tl__srv *s)
{
	char **args = NULL;
	int rc = TL_OK;
	for (size_t i = 0; !rc && s->o.platform_images && s->o.platform_images[i]; i++)
		if (!(rc = tl__strv_push(&args, "--image")))
			rc = tl__strv_push(&args, s->o.platform_images[i]);
	static const char sh[] = "exec towlion platform up \"$@\"";
	if (!rc)
		rc = tl__srv_do(s, "towlion platform up", sh, (const char *const *)args, NULL);
	tl__strv_free(args);
	return rc;
}

/* Installed by the towlion package, not enabled (Debian policy for
 * timers that act on data): enabled here. */
static const char *const towlion_timers[] = {"towlion-backup.timer", "towlion-alerts.timer",
                                             "towlion-preview-gc.timer", NULL};

static int timers_check(tl__srv *s)
{
	return tl__srv_check(s, units_check_sh, towlion_timers, NULL);
}

static int timers_apply(tl__srv *s)
{
	return tl__srv_do(s, "enabling the towlion timers", units_enable_sh, towlion_timers, NULL);
}

static int doctor_check(tl__srv *s)
{
	tl_buf sh = TL_BUF_INIT;
	int rc = tl__buf_printf(&sh, "%s%s", need_towlion_sh, doctor_sh);
	if (!rc)
		rc = tl__srv_check(s, sh.ptr, NULL, NULL);
	tl_buf_dispose(&sh);
	if (rc == TL__SRV_CHANGE)
		rc = tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_PROCESS,
		                   "%s: towlion doctor: %s", s->host,
		                   s->why.ptr ? s->why.ptr : "");
	return rc;
}

const tl__srv_step tl__srv_steps[] = {
	{"os", os_check, NULL, NULL},
	{"packages", packages_check, packages_apply, NULL},
	{"towlion", towlion_check, towlion_apply, NULL},
	{"docker", docker_check, docker_apply, NULL},
	{"images", images_check, images_apply, images_wanted},
	{"firewall", tl__srv_firewall_check, tl__srv_firewall_apply, NULL},
	{"upgrades", upgrades_check, upgrades_apply, NULL},
	{"user", user_check, user_apply, user_wanted},
	{"config", config_check, config_apply, config_wanted},
	{"init", init_check, init_apply, NULL},
	{"up", up_check, up_apply, NULL},
	{"timers", timers_check, timers_apply, NULL},
	{"doctor", doctor_check, NULL, NULL},
};

const size_t tl__srv_nsteps = TL__ARRAY_SIZE(tl__srv_steps);

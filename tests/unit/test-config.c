/*
 * Unit tests for lib/config: defaults derived from state_dir, every error
 * naming file:line, and lines inih would cut refused rather than cut.
 */
#include <stdlib.h>

#include "config.h"
#include "err.h"
#include "test.h"

static void
refused(const char *text, const char *why)
{
	struct config *c = config_parse("t.ini", text);

	if (c != NULL || strstr(err_msg(), why) == NULL) {
		fprintf(stderr, "\"%.50s\": got \"%s\", want \"%s\"\n", text,
		    c ? "accepted" : err_msg(), why);
		test_failures++;
	}
	config_free(c);
}

int
main(void)
{
	struct config *c;
	char line[300];

	c = config_parse("t.ini", "[gate]\nstate_dir = /srv/g\n");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->account, "gate");
		CHECK_STR(c->auth_account, "sshgate-auth");
		CHECK_STR(c->database, "/srv/g/gate.db");
		CHECK_STR(c->recordings_dir, "/srv/g/recordings");
		CHECK_STR(c->runtime_dir, "/srv/g/run");
		CHECK_STR(c->egress_key, "/srv/g/egress_ed25519");
		CHECK_STR(c->known_hosts, "/srv/g/known_hosts");
		CHECK(c->db_timeout_ms == 5000);
		CHECK(c->verify_auth_info == 1);
		CHECK_STR(c->ssh, "/usr/bin/ssh");
		CHECK(c->connect_timeout == 10);
		CHECK(c->max_sessions_per_user == 3);
		CHECK(c->max_session_time == 0);
		CHECK(c->idle_timeout == 0);
		CHECK(c->idle_warn == 60);
		CHECK(c->idle_input_only == 0);
	}
	config_free(c);

	c = config_parse("t.ini", "[sessions]\nidle_timeout = 15m\n"
	    "idle_warn = off\nidle_input_only = yes\n");
	CHECK(c != NULL);
	if (c) {
		CHECK(c->idle_timeout == 900);
		CHECK(c->idle_warn == 0);
		CHECK(c->idle_input_only == 1);
	}
	config_free(c);
	refused("[sessions]\nidle_timeout = soon\n", "t.ini:2: idle_timeout "
	    "must be off or a duration");
	refused("[sessions]\nidle_input_only = 1\n", "t.ini:2: "
	    "idle_input_only must be yes or no");

	/* [recording] and [history]: defaults, values, refusals. */
	c = config_parse("t.ini", "[gate]\n");
	CHECK(c != NULL);
	if (c) {
		CHECK(c->record_input == 0 && c->record_required == 0);
		CHECK(c->record_max_file == 256LL << 20);
		CHECK(c->history_strict == 0 && c->policy_file[0] == '\0');
		CHECK(c->retention_days == 30);
	}
	config_free(c);
	c = config_parse("t.ini", "[recording]\nrecord_input = yes\n"
	    "required = yes\nmax_file_size = 64K\n[history]\nmode = strict\n"
	    "policy_file = /etc/sshgate/policy.ini\nretention_days = 0\n");
	CHECK(c != NULL);
	if (c) {
		CHECK(c->record_input == 1 && c->record_required == 1);
		CHECK(c->record_max_file == 65536);
		CHECK(c->history_strict == 1);
		CHECK_STR(c->policy_file, "/etc/sshgate/policy.ini");
		CHECK(c->retention_days == 0);
	}
	config_free(c);
	refused("[recording]\nmax_file_size = 1K\n", "t.ini:2: max_file_size "
	    "must be a size");
	refused("[recording]\nmax_file_size = 65G\n", "t.ini:2: "
	    "max_file_size must be a size");
	refused("[recording]\nmax_file_size = 5X\n", "t.ini:2: "
	    "max_file_size must be a size");
	refused("[history]\nmode = lax\n", "t.ini:2: mode must be "
	    "permissive or strict");
	refused("[history]\npolicy_file = policy.ini\n", "t.ini:2: "
	    "policy_file must be an absolute path");
	refused("[history]\nretention_days = -1\n", "t.ini:2: ");

	c = config_parse("t.ini", "[egress]\nssh = /opt/ssh/bin/ssh\n"
	    "connect_timeout = 3\n[sessions]\nmax_sessions_per_user = 0\n"
	    "max_session_time = 8h\n");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->ssh, "/opt/ssh/bin/ssh");
		CHECK(c->connect_timeout == 3);
		CHECK(c->max_sessions_per_user == 0);
		CHECK(c->max_session_time == 8 * 3600);
	}
	config_free(c);
	{
		static const struct { const char *v; int s; } d[] = {
			{ "90", 90 }, { "90s", 90 }, { "30m", 1800 },
			{ "1d", 86400 }, { "366d", 366 * 86400 }, { "off", 0 } };
		size_t i;
		for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
			snprintf(line, sizeof(line), "[sessions]\n"
			    "max_session_time = %s\n", d[i].v);
			c = config_parse("t.ini", line);
			CHECK(c != NULL && c->max_session_time == d[i].s);
			config_free(c);
		}
	}
	refused("[sessions]\nmax_session_time = 367d\n", "t.ini:2: "
	    "max_session_time must be off or a duration");
	refused("[sessions]\nmax_session_time = 0\n", "must be off or");
	refused("[sessions]\nmax_session_time = 5w\n", "must be off or");
	refused("[sessions]\nmax_session_time = -5\n", "must be off or");
	refused("[sessions]\nmax_session_time = 99999999999999999999\n",
	    "must be off or");
	refused("[sessions]\nmax_sessions_per_user = -1\n", "t.ini:2:");
	refused("[egress]\nconnect_timeout = 0\n", "t.ini:2:");
	refused("[egress]\nssh = /usr/bin/ssh -oProxyCommand=x\n",
	    "t.ini:2: ssh '/usr/bin/ssh -oProxyCommand=x' may only hold");
	refused("[gate]\nstate_dir = /var/lib/%u\n", "egress_key and "
	    "known_hosts");
	refused("[gate]\negress_key = /k/~x%h\n", "egress_key and known_hosts");

	c = config_parse("t.ini", "; comment\n[gate]\naccount = bastion\n"
	    "database = /db/x.db\nstate_dir = /s\ndb_timeout_ms = 250\n"
	    "verify_auth_info = no\n");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->account, "bastion");
		CHECK_STR(c->database, "/db/x.db");	/* given wins */
		CHECK_STR(c->runtime_dir, "/s/run");
		CHECK(c->db_timeout_ms == 250);
		CHECK(c->verify_auth_info == 0);
	}
	config_free(c);
	CHECK((c = config_parse("t.ini", "")) != NULL);	/* all defaults */
	config_free(c);

	refused("[gate]\nstate_dir = /s\nbogus = 1\n", "t.ini:3: unknown key "
	    "'bogus' in [gate]");
	refused("[gates]\n", "t.ini:1: unknown section [gates]");
	refused("[gate]\naccount = a\naccount = b\n", "t.ini:3: duplicate key");
	refused("[gate]\nstate_dir = relative\n", "t.ini:2: state_dir must be "
	    "an absolute path");
	refused("[gate]\naccount = -root\n", "t.ini:2: account: invalid login");
	refused("[gate]\ndb_timeout_ms = 5\n", "t.ini:2: invalid db_timeout_ms");
	refused("[gate]\ndb_timeout_ms = 1s\n", "not a decimal number");
	refused("[gate]\nverify_auth_info = maybe\n", "t.ini:2: verify_auth_info "
	    "must be yes or no");
	refused("[gate]\ngate_shell = /usr/bin/gate shell\n", "t.ini:2: "
	    "gate_shell '/usr/bin/gate shell' may only hold");
	refused("[gate]\njunk line\n", "t.ini:2: syntax error");
	refused("[gate\n", "t.ini:1: section header without ']'");
	snprintf(line, sizeof(line), "[gate]\nstate_dir = /%0200d\n", 0);
	refused(line, "t.ini:2: line longer than 199 bytes");

	c = config_load("/nonexistent/gate.ini");
	CHECK(c == NULL && strstr(err_msg(), "cannot open config") != NULL);
	return TEST_DONE();
}

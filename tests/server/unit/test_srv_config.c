/*
 * test_srv_config.c — cordon.yaml parsing: defaults, every section,
 * errors with file:line, --listen forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/srv_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/srv_config_test_XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int load(const char *text, srv_config *cfg, char *err, size_t errlen)
{
    char *path = write_tmp(text);
    int rc;

    assert_int_equal(srv_config_defaults(cfg), 0);
    rc = srv_config_load(cfg, path, err, errlen);
    unlink(path);
    free(path);
    return rc;
}

static void defaults(void **state)
{
    srv_config c;

    (void)state;
    assert_int_equal(srv_config_defaults(&c), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.data_dir, "./cordon-data");
    assert_int_equal(c.recall_window_seconds, 120);
    assert_null(c.policy_path);
    srv_config_free(&c);
}

static void full(void **state)
{
    srv_config c;
    char err[256] = "";

    (void)state;
    assert_int_equal(load("listen: 0.0.0.0:9000\n"
                          "data_dir: /var/lib/cordon\n"
                          "policy:\n  path: /etc/p.yaml\n  lexicons: [a.txt, b.txt]\n"
                          "limits:\n  max_message_bytes: 1000\n  requests_per_second: 2.5\n"
                          "login:\n  max_failures_per_account: 3\n"
                          "totp_required: [officer, admin]\n"
                          "recall_window_seconds: 60\n"
                          "log_level: debug\n",
                          &c, err, sizeof err),
                     0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.data_dir, "/var/lib/cordon");
    assert_string_equal(c.policy_path, "/etc/p.yaml");
    assert_int_equal(c.n_lexicons, 2);
    assert_string_equal(c.lexicons[1], "b.txt");
    assert_int_equal(c.limits.max_message_bytes, 1000);
    assert_true(c.limits.requests_per_second == 2.5);
    assert_int_equal(c.login.account_failures, 3);
    assert_false(c.totp_required[SRV_ROLE_MEMBER]);
    assert_true(c.totp_required[SRV_ROLE_ADMIN]);
    assert_int_equal(c.recall_window_seconds, 60);
    assert_int_equal(c.log_level, SRV_LOG_DEBUG);
    srv_config_free(&c);
}

static void errors(void **state)
{
    srv_config c;
    char err[256];

    (void)state;
    assert_int_equal(load("limits:\n  max_mesage_bytes: 10\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: limits: unknown key 'max_mesage_bytes'"));
    srv_config_free(&c);
    assert_int_equal(load("recall_window_seconds: soon\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1:"));
    srv_config_free(&c);
    assert_int_equal(load("tls:\n  cert: a.pem\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "both cert and key"));
    srv_config_free(&c);
    assert_int_equal(load("listen: [unclosed\n", &c, err, sizeof err), -1);
    srv_config_free(&c);
    assert_int_equal(load("", &c, err, sizeof err), 0);
    srv_config_free(&c);
}

/* The audit: section and where the checkpoint key and file go by default. */
static void audit_checkpoints(void **state)
{
    srv_config c;
    char err[256] = "", *key = NULL, *file = NULL;

    (void)state;
    assert_int_equal(load("data_dir: /srv/d\n", &c, err, sizeof err), 0);
    assert_int_equal(c.audit_checkpoint_interval_s, 60);
    assert_int_equal(srv_config_audit_paths(&c, &key, &file), 0);
    assert_string_equal(key, "/srv/d/audit-checkpoint.key");
    assert_string_equal(file, "/srv/d/audit-checkpoints.log");
    free(key);
    free(file);
    srv_config_free(&c);
    assert_int_equal(load("audit:\n  checkpoint_key: /etc/k\n  checkpoint_file: /log/ck\n"
                          "  checkpoint_interval_s: 5\n",
                          &c, err, sizeof err),
                     0);
    assert_int_equal(c.audit_checkpoint_interval_s, 5);
    assert_int_equal(srv_config_audit_paths(&c, &key, &file), 0);
    assert_string_equal(key, "/etc/k");
    assert_string_equal(file, "/log/ck");
    free(key);
    free(file);
    srv_config_free(&c);
    assert_int_equal(load("audit:\n  checkpoint_interval_s: -1\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: checkpoint_interval_s: expected an integer in 0..86400"));
    srv_config_free(&c);
    assert_int_equal(load("audit:\n  checkpoint_keys: x\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "audit: unknown key 'checkpoint_keys'"));
    srv_config_free(&c);
}

/* The CSRF origins and the pre-check limits (issue 13). */
static void origins_and_probing(void **state)
{
    srv_config c;
    char err[256] = "";

    (void)state;
    assert_int_equal(srv_config_defaults(&c), 0);
    assert_int_equal(c.n_allowed_origins, 0);
    assert_true(c.limits.guard_checks_per_second > 0);
    assert_int_equal(c.limits.guard_probe_blocked, 5);
    assert_int_equal(c.limits.guard_probe_window_seconds, 600);
    srv_config_free(&c);
    assert_int_equal(load("allowed_origins: [\"https://a.example\", \"http://b:5173\"]\n"
                          "limits:\n  guard_checks_per_second: 2.5\n  guard_check_burst: 7\n"
                          "guard_probing:\n  blocked: 0\n  window_seconds: 60\n",
                          &c, err, sizeof err),
                     0);
    assert_int_equal(c.n_allowed_origins, 2);
    assert_string_equal(c.allowed_origins[1], "http://b:5173");
    assert_true(c.limits.guard_checks_per_second == 2.5);
    assert_true(c.limits.guard_check_burst == 7);
    assert_int_equal(c.limits.guard_probe_blocked, 0);
    assert_int_equal(c.limits.guard_probe_window_seconds, 60);
    srv_config_free(&c);
    assert_int_equal(load("allowed_origins: https://a.example\n", &c, err, sizeof err), -1);
    srv_config_free(&c);
    assert_int_equal(load("guard_probing:\n  blocks: 3\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "blocks"));
    srv_config_free(&c);
}

/* Several nodes: the bus, the node's name, the shared blob directory. */
static void cluster_keys(void **state)
{
    srv_config c;
    char err[256];

    (void)state;
    assert_int_equal(srv_config_defaults(&c), 0);
    assert_null(c.bus_url); /* one node: the in-process bus */
    assert_null(c.blob_dir);
    srv_config_free(&c);
    assert_int_equal(load("bus: redis://:pw@10.0.0.5:6380/2\nnode_name: n1\n"
                          "blob_dir: /srv/shared/blobs\n",
                          &c, err, sizeof err),
                     0);
    assert_string_equal(c.bus_url, "redis://:pw@10.0.0.5:6380/2");
    assert_string_equal(c.node_name, "n1");
    assert_string_equal(c.blob_dir, "/srv/shared/blobs");
    srv_config_free(&c);
    assert_int_equal(load("bus: local\n", &c, err, sizeof err), 0);
    assert_null(c.bus_url);
    srv_config_free(&c);
    assert_int_equal(load("bus: http://10.0.0.5\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "bus: expected local or redis://"));
    srv_config_free(&c);
    assert_int_equal(load("bus: redis://\n", &c, err, sizeof err), -1);
    srv_config_free(&c);
    /* the gap fill's bounds: defaults, set, out of range */
    assert_int_equal(srv_config_defaults(&c), 0);
    assert_int_equal(c.bus_gap_fill_max, 1000);
    assert_int_equal(c.bus_gap_fill_seconds, 60);
    srv_config_free(&c);
    assert_int_equal(load("bus_gap_fill_max: 0\nbus_gap_fill_seconds: 5\n", &c, err, sizeof err),
                     0);
    assert_int_equal(c.bus_gap_fill_max, 0);
    assert_int_equal(c.bus_gap_fill_seconds, 5);
    srv_config_free(&c);
    assert_int_equal(load("bus_gap_fill_max: 5000\n", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "bus_gap_fill_max"));
    srv_config_free(&c);
}

static void listen_forms(void **state)
{
    srv_config c;

    (void)state;
    assert_int_equal(srv_config_defaults(&c), 0);
    assert_int_equal(srv_config_set_listen(&c, ":0"), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 0);
    assert_int_equal(srv_config_set_listen(&c, "[::1]:8443"), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 8443);
    assert_int_equal(srv_config_set_listen(&c, "host:99999"), -1);
    assert_int_equal(srv_config_set_listen(&c, "nohost"), -1);
    srv_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),          cmocka_unit_test(full),
        cmocka_unit_test(audit_checkpoints), cmocka_unit_test(errors),
        cmocka_unit_test(listen_forms),      cmocka_unit_test(origins_and_probing),
        cmocka_unit_test(cluster_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tool_serve.c — `cordon serve`: command line -> srv_config -> srv_run().
 *
 * Precedence: built-in defaults, then the YAML file (--config), then the
 * flags. The server itself lives in src/server (srv.h).
 */
#include "tool_cmd.h"

#include "server/srv.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void tool_serve_help(FILE *f)
{
    fputs("usage: cordon serve [--config FILE] [OPTIONS]\n"
          "\n"
          "Runs the work-chat server (HTTP + WebSocket). Without a configuration it\n"
          "listens on 127.0.0.1:8080 and keeps its data under ./cordon-data.\n"
          "On first start with no accounts it creates `admin` and prints a one-time\n"
          "password (to be changed at first login).\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE            YAML configuration (docs/SERVER.md)\n"
          "  -l, --listen HOST:PORT       listen address (port 0: any free port)\n"
          "  -d, --data DIR               data directory (database, guard cache)\n"
          "      --store URL              the store: postgresql://USER@HOST:PORT/DB\n"
          "                               (default: SQLite in the data directory)\n"
          "  -p, --policy FILE            guard policy (default: the built-in policy)\n"
          "  -w, --web-root DIR           the built web client served outside /api/\n"
          "                               (\"\": none; default: the one built with cordon)\n"
          "      --log-level LEVEL        debug, info, warn or error\n"
          "      --workers N              worker threads (default: one per CPU)\n"
          "      --admin-password-file F  also write the first-start admin password to F\n"
          "      --insecure-fast-hash     cheapest argon2id cost; for tests only, needs\n"
          "                               CORDON_TEST_FAST_HASH=1 in the environment\n"
          "  -h, --help                   this help\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the policy.\n",
          f);
}

enum { OPT_LOG = 1000, OPT_WORKERS, OPT_ADMIN_PW, OPT_FAST_HASH, OPT_STORE };

int tool_serve_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'd'},
        {"store", required_argument, NULL, OPT_STORE},
        {"policy", required_argument, NULL, 'p'},
        {"web-root", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"admin-password-file", required_argument, NULL, OPT_ADMIN_PW},
        {"insecure-fast-hash", no_argument, NULL, OPT_FAST_HASH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *listen = NULL, *data = NULL, *policy = NULL, *level = NULL;
    const char *workers = NULL, *web_root = NULL, *store_url = NULL;
    srv_run_opts opts = {0};
    srv_config cfg;
    char err[1024];
    int c, rc = TOOL_EXIT_ERROR;

    if (srv_config_defaults(&cfg)) {
        fputs("cordon serve: out of memory\n", stderr);
        return TOOL_EXIT_ERROR;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:d:p:w:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'p':
            policy = optarg;
            break;
        case 'w':
            web_root = optarg;
            break;
        case OPT_LOG:
            level = optarg;
            break;
        case OPT_WORKERS:
            workers = optarg;
            break;
        case OPT_STORE:
            store_url = optarg;
            break;
        case OPT_ADMIN_PW:
            opts.admin_password_file = optarg;
            break;
        case OPT_FAST_HASH:
            opts.fast_hash = 1;
            break;
        case 'h':
            tool_serve_help(stdout);
            rc = TOOL_EXIT_ALLOW;
            goto out;
        default:
            fputs("Try 'cordon serve --help'.\n", stderr);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cordon serve: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (config && srv_config_load(&cfg, config, err, sizeof err)) {
        fprintf(stderr, "cordon serve: %s\n", err);
        goto out;
    }
    if (listen && srv_config_set_listen(&cfg, listen)) {
        fprintf(stderr, "cordon serve: --listen: expected HOST:PORT, got '%s'\n", listen);
        goto out;
    }
    if ((data && srv_config_set_str(&cfg.data_dir, data)) ||
        (policy && srv_config_set_str(&cfg.policy_path, policy)) ||
        (store_url && srv_config_set_str(&cfg.store, *store_url ? store_url : NULL)) ||
        (web_root && srv_config_set_str(&cfg.web_root, *web_root ? web_root : NULL))) {
        fputs("cordon serve: out of memory\n", stderr);
        goto out;
    }
    if (level && srv_log_parse_level(level, &cfg.log_level)) {
        fprintf(stderr, "cordon serve: --log-level: expected debug, info, warn or error\n");
        goto out;
    }
    if (workers) {
        char *end;
        long n = strtol(workers, &end, 10);

        if (*end || n < 1 || n > 256) {
            fputs("cordon serve: --workers: expected 1..256\n", stderr);
            goto out;
        }
        cfg.workers = (int)n;
    }
    if (opts.fast_hash) {
        const char *e = getenv("CORDON_TEST_FAST_HASH");

        if (!e || strcmp(e, "1")) {
            fputs("cordon serve: --insecure-fast-hash needs CORDON_TEST_FAST_HASH=1\n", stderr);
            goto out;
        }
    }
    rc = srv_run(&cfg, &opts) ? TOOL_EXIT_ERROR : TOOL_EXIT_ALLOW;
out:
    srv_config_free(&cfg);
    return rc;
}

/*
 * bench_export.c — the compliance export's throughput (docs/BENCH.md,
 * "Compliance export"): N messages of one conversation exported through
 * chat_export_run (JSON Lines, then EML) into /dev/null, next to the
 * reference from the same run: SQLite itself turning the same rows into
 * JSON (json_object over the same columns, read in the same 500-row pages),
 * i.e. what reading the store costs before anything of the export's own.
 *
 * usage: bench_export [N]   (default 20000; a temporary database)
 */
#include "bench_util.h"

#include "chat/chat_export.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int to_file(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, ctx) == len ? 0 : STORE_IO;
}

static int64_t add_user(store *s, const char *login)
{
    store_user_new u = {.login = login, .display_name = login, .password_hash = "$x", .now = 1};
    int64_t id = 0;

    return store_user_create(s, &u, &id) ? -1 : id;
}

/* SQLite's own JSON of the same rows, paged like the export. */
static size_t reference(const char *path, int64_t conv, FILE *out)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t after = 0;
    size_t rows = 0, page;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT id, json_object('type','message','id',id,'conversation_id',"
                           "conv_id,'sender_id',sender_id,'client_id',client_id,'text',body,"
                           "'created_at',created_at,'verdict',verdict,'justification',"
                           "justification,'recalled',recalled_at <> 0) FROM messages WHERE "
                           "conv_id = ?1 AND id > ?2 ORDER BY id LIMIT 500",
                           -1, &st, NULL))
        goto out;
    do {
        page = 0;
        sqlite3_bind_int64(st, 1, conv);
        sqlite3_bind_int64(st, 2, after);
        while (sqlite3_step(st) == SQLITE_ROW) {
            after = sqlite3_column_int64(st, 0);
            fputs((const char *)sqlite3_column_text(st, 1), out);
            fputc('\n', out);
            page++;
        }
        sqlite3_reset(st);
        rows += page;
    } while (page == 500);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    char dir[] = "/tmp/cordon-bench-export-XXXXXX", path[128], cmd[160];
    store_options o = {.version = 1, .path = path, .synchronous_normal = true};
    store *s = NULL;
    int64_t a, b, conv = 0;
    char text[2100], cid[32];
    FILE *null = fopen("/dev/null", "w");
    uint64_t t0, t_ref, t_jsonl, t_eml;
    chat_export_result res;
    chat_export_req q = {0};
    int rc = 1;

    if (!mkdtemp(dir) || !null)
        return 1;
    snprintf(path, sizeof path, "%s/cordon.db", dir);
    if (store_open(&o, &s, NULL))
        goto out;
    a = add_user(s, "alice");
    b = add_user(s, "bob");
    if (a < 0 || b < 0 ||
        store_conv_create(s, STORE_CONV_GROUP, "项目组", a, &b, 1, 1, &conv, NULL))
        goto out;
    for (int i = 0; i < n; i++) {
        store_message_new m = {.conv_id = conv,
                               .sender_id = i % 2 ? a : b,
                               .client_id = cid,
                               .text = text,
                               .verdict = "allow",
                               .now = 1000 + i};
        store_message out = {0};
        bool dup;

        snprintf(cid, sizeof cid, "b%d", i);
        snprintf(text, sizeof text, "第 %d 条：%.*s", i, 1900,
                 "Lorem ipsum dolor sit amet, consectetur adipiscing elit, 会议纪要与报价单 "
                 "Lorem ipsum dolor sit amet, consectetur adipiscing elit, 会议纪要与报价单 ");
        m.text_len = strlen(text);
        if (store_message_append(s, &m, &out, &dup))
            goto out;
        store_message_clear(&out);
    }
    q = (chat_export_req){
        .conv_id = conv, .from = 0, .to = 1000 + n, .reason = "bench", .actor = "bench", .now = 1};
    t0 = bench_now_ns();
    if (reference(path, conv, null) != (size_t)n)
        goto out;
    t_ref = bench_now_ns() - t0;
    t0 = bench_now_ns();
    if (chat_export_run(s, &q, to_file, null, &res) || res.messages != n)
        goto out;
    t_jsonl = bench_now_ns() - t0;
    q.format = CHAT_EXPORT_EML;
    t0 = bench_now_ns();
    if (chat_export_run(s, &q, to_file, null, &res) || res.messages != n)
        goto out;
    t_eml = bench_now_ns() - t0;
    printf("messages: %d (about %zu bytes of text each)\n", n, strlen(text));
    printf("%-44s %8.1f ms  %8.0f msg/s\n", "reference: SQLite json_object, same pages",
           t_ref / 1e6, n / (t_ref / 1e9));
    printf("%-44s %8.1f ms  %8.0f msg/s  ratio %.2f\n", "cordon chat_export_run jsonl",
           t_jsonl / 1e6, n / (t_jsonl / 1e9), (double)t_jsonl / (double)t_ref);
    printf("%-44s %8.1f ms  %8.0f msg/s  ratio %.2f\n", "cordon chat_export_run eml (GMime)",
           t_eml / 1e6, n / (t_eml / 1e9), (double)t_eml / (double)t_ref);
    printf("peak RSS: %ld kB\n", bench_status_kb("VmHWM"));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_export: failed\n");
    store_close(s);
    fclose(null);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        rc = 1;
    return rc;
}

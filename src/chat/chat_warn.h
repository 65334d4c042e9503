/*
 * chat_warn.h — early warning over time (chat_warn.c, docs/POLICY.md
 * "Early warning"): rules that look at what happened in a window, not at
 * one message, with thresholds from the policy's `warnings:`
 * (guard_ruleset_warnings). Each rule raises an officer alert of its own
 * category with the evidence, once per window, plus its audit row, and
 * publishes alert.new to the staff.
 *
 * Called on the writer thread from the publish stage of the commit kinds,
 * after their commit: the counts include what was just committed. Best
 * effort: a failed count or write is logged, never the caller's failure.
 */
#ifndef CHAT_WARN_H
#define CHAT_WARN_H

#include "chat.h"

/* A forwarded copy m was committed: "warning.spread" when the root's
 * copies sit in more than spread_conversations conversations created
 * within spread_minutes. */
void chat_warn_after_forward(const chat *c, store *st, const store_message *m);

/* A message with files was committed: "warning.spread" when the bytes of
 * one of its files (under any file id: forwarded, or uploaded again
 * separately) sit in more than spread_conversations conversations within
 * spread_minutes. About the oldest message that carried the bytes, so the
 * console opens its spread; evidence file_id. Once per window, shared
 * with chat_warn_after_forward's alert about the same message. */
void chat_warn_after_files(const chat *c, store *st, const store_message *m);

/* An alert about user_id was committed: "warning.attempts" when the user's
 * blocked and held attempts and probing alerts of the last 24 hours exceed
 * attempts_per_day; "warning.bulk_personal" when the personal-data
 * findings (phone, ID, bank card, e-mail...) of the user's delivered
 * messages within bulk_personal_minutes sum to more than
 * bulk_personal_findings: personal data leaving in many small messages,
 * each under any single-message threshold. */
void chat_warn_after_alert(const chat *c, store *st, int64_t user_id, int64_t conv_id, int64_t now);

/* user_id joined group conv_id: "warning.external" when the user is
 * external and sensitive content (a guard alert about a stored message)
 * was shared there within external_after_minutes. */
void chat_warn_after_member(const chat *c, store *st, int64_t conv_id, int64_t user_id,
                            int64_t now);

#endif

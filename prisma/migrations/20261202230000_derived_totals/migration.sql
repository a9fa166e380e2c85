-- Running totals are derived from the ledger (usage_records) and the messages on read, instead of
-- hot rows every concurrent /chat call of a user updated inside its transaction.

-- The session a message was sent in, for the session's message count.
ALTER TABLE "messages" ADD COLUMN "session_id" UUID;

-- Messages stored before this migration: the session their conversation was started in.
UPDATE "messages" AS m SET "session_id" = c."session_id" FROM "conversations" AS c WHERE c."id" = m."conversation_id";

CREATE INDEX "messages_session_id_idx" ON "messages"("session_id");

ALTER TABLE "messages" ADD CONSTRAINT "messages_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

ALTER TABLE "sessions" DROP COLUMN "conversation_count",
DROP COLUMN "message_count",
DROP COLUMN "request_count",
DROP COLUMN "prompt_tokens",
DROP COLUMN "completion_tokens",
DROP COLUMN "cost_micros";

ALTER TABLE "conversations" DROP COLUMN "message_count",
DROP COLUMN "prompt_tokens",
DROP COLUMN "completion_tokens",
DROP COLUMN "cost_micros";

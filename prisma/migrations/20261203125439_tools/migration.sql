-- AlterTable
ALTER TABLE "users" ADD COLUMN     "tools" JSONB;

-- CreateTable
CREATE TABLE "tool_calls" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "conversation_id" UUID,
    "tool" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "error_code" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tool_calls_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "tool_calls_user_id_created_at_idx" ON "tool_calls"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "tool_calls_conversation_id_idx" ON "tool_calls"("conversation_id");

-- AddForeignKey
ALTER TABLE "tool_calls" ADD CONSTRAINT "tool_calls_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "chat_jobs" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "api_key_id" UUID NOT NULL,
    "status" TEXT NOT NULL,
    "request" JSONB NOT NULL,
    "result" JSONB,
    "error" JSONB,
    "model" TEXT,
    "conversation_id" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "run_after" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_until" TIMESTAMPTZ(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "chat_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chat_jobs_user_id_id_idx" ON "chat_jobs"("user_id", "id");

-- CreateIndex
CREATE INDEX "chat_jobs_status_run_after_idx" ON "chat_jobs"("status", "run_after");

-- AddForeignKey
ALTER TABLE "chat_jobs" ADD CONSTRAINT "chat_jobs_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- DropIndex
DROP INDEX "memories_user_id_id_idx";

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "end_user" VARCHAR(256) NOT NULL DEFAULT '',
ADD COLUMN     "key" VARCHAR(200);

-- AlterTable
ALTER TABLE "memories" ADD COLUMN     "end_user" VARCHAR(256) NOT NULL DEFAULT '';

-- CreateIndex
CREATE UNIQUE INDEX "conversations_user_id_end_user_key_key" ON "conversations"("user_id", "end_user", "key");

-- CreateIndex
CREATE INDEX "memories_user_id_end_user_id_idx" ON "memories"("user_id", "end_user", "id");

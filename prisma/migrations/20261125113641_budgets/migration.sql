-- CreateTable
CREATE TABLE "budget_counters" (
    "scope" TEXT NOT NULL,
    "scope_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "spent_micros" BIGINT NOT NULL DEFAULT 0,
    "reserved_micros" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "budget_counters_pkey" PRIMARY KEY ("scope","scope_id","period_start")
);

-- CreateTable
CREATE TABLE "budget_reservations" (
    "id" UUID NOT NULL,
    "scope" TEXT NOT NULL,
    "scope_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "amount_micros" BIGINT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "budget_reservations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "budget_reservations_expires_at_idx" ON "budget_reservations"("expires_at");

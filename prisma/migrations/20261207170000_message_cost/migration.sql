-- An assistant message keeps what its upstream round cost (its usage record's cost), so a conversation's messages show their cost.
ALTER TABLE "messages" ADD COLUMN "cost_micros" BIGINT;

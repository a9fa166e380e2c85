-- A usage record may carry a warning about how it was metered (a model reached by provider prefix, with no price in the catalog, is recorded at zero cost).
ALTER TABLE "usage_records" ADD COLUMN "warning" TEXT;

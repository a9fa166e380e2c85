-- AlterEnum
ALTER TYPE "usage_status" ADD VALUE 'incomplete';

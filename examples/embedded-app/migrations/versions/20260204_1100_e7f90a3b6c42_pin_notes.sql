-- aludel:revision e7f90a3b6c42
-- aludel:revises 5d8e2b9c4f10
-- aludel:message pin notes
-- aludel:created 2026-02-04T11:00:00Z

-- aludel:upgrade
ALTER TABLE notes ADD COLUMN pinned boolean NOT NULL DEFAULT false;

-- aludel:downgrade
ALTER TABLE notes DROP COLUMN pinned;

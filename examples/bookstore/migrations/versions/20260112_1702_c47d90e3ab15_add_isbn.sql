-- aludel:revision c47d90e3ab15
-- aludel:revises 8b2e44c10f6a
-- aludel:message add isbn to books
-- aludel:created 2026-01-12T17:02:00Z

-- aludel:upgrade
ALTER TABLE books ADD COLUMN isbn varchar(17);
CREATE UNIQUE INDEX books_isbn ON books (isbn);

-- On PostgreSQL the same, with a check on the format: a dialect section wins over
-- the section that names none.
-- aludel:upgrade postgresql
ALTER TABLE books ADD COLUMN isbn varchar(17) CHECK (isbn ~ '^[0-9-]+$');
CREATE UNIQUE INDEX books_isbn ON books (isbn);

-- aludel:downgrade
DROP INDEX books_isbn;
ALTER TABLE books DROP COLUMN isbn;

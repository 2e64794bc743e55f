-- aludel:revision 8b2e44c10f6a
-- aludel:revises 1f0c2a9b7d31
-- aludel:message create books
-- aludel:created 2026-01-11T09:15:00Z

-- aludel:upgrade
CREATE TABLE books (
    id integer PRIMARY KEY,
    author_id integer NOT NULL REFERENCES authors (id),
    title varchar(300) NOT NULL,
    published date
);
CREATE INDEX books_author_id ON books (author_id);

-- aludel:downgrade
DROP INDEX books_author_id;
DROP TABLE books;

-- aludel:revision 1f0c2a9b7d31
-- aludel:message create authors
-- aludel:created 2026-01-10T14:30:00Z

-- aludel:upgrade
CREATE TABLE authors (
    id integer PRIMARY KEY,
    name varchar(200) NOT NULL
);

-- aludel:downgrade
DROP TABLE authors;

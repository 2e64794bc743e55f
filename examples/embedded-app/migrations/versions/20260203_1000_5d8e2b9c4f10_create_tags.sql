-- aludel:revision 5d8e2b9c4f10
-- aludel:revises a1c3e5f70b21
-- aludel:message create tags
-- aludel:created 2026-02-03T10:00:00Z

-- aludel:upgrade
CREATE TABLE tags (
    note_id bigint NOT NULL REFERENCES notes (id),
    name varchar(50) NOT NULL,
    PRIMARY KEY (note_id, name)
);
CREATE INDEX tags_name ON tags (name);

-- aludel:downgrade
DROP INDEX tags_name;
DROP TABLE tags;

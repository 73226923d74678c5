-- "Done by me" (已办): the tasks a person decided, newest first.
CREATE INDEX tasks_done ON tasks (acted_by, id);

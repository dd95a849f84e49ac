-- The README's demo is a test too: scripts/demo.sql must run and print the same story.
\i scripts/demo.sql

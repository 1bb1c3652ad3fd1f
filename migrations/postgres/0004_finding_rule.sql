-- Which evidence decided a finding (values, name + values, name + shape; see classify::Finding::rule).
ALTER TABLE findings ADD COLUMN rule TEXT;

//! Migration files: headers, sections, statement splitting, new files from templates.

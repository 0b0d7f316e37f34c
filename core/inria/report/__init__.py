"""report.html: one page per run, readable offline (images and plots embedded)."""

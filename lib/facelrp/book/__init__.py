"""The book's machinery: executing pages, the browser check, the cost of a run."""

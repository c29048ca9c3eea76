"""Documents from the domain's models: minutes and reports as Markdown, HTML and Word, and the chart."""

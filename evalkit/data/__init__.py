"""What goes in: dataset cards and pinned problems, prompt templates, presets (published protocols and
numbers), and the embedded CPU model."""

"""Portal controls: the control catalog (versioned YAML data), its metrics and their evaluation."""

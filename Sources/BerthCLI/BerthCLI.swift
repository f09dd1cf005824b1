// BerthCLI

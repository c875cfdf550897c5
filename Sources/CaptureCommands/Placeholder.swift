// CLI subcommands.

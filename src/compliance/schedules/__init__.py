"""The shipped rule packs: one TOML file per nation, each rule with its source, basis and examples."""

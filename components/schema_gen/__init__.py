"""SchemaGen that infers the schema from the splits that hold examples."""

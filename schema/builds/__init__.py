"""Image builds: `startBuild`, `cancelBuild`, `builds`, `build`, `buildLogs` and `buildProgress`."""

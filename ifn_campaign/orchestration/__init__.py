"""How the stages run under Prefect: stages, deployments, the server, account gates, workers."""

"""One module per console page (or group of actions), each with an `APIRouter` named `router`;
`ifn_campaign.console.app.create_app` includes every module found here."""

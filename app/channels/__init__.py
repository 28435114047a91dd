"""Channel adapters: each turns one channel's raw input into an intake request and calls
app.services.intake. No business decisions here."""

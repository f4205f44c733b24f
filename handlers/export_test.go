package handlers

// SpreadsheetSafe exposes spreadsheetSafe to the external tests.
var SpreadsheetSafe = spreadsheetSafe

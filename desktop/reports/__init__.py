"""The shift report's files: JSON, CSV and PDF (`desktop.reports.files`), shared by the server
and the workstation."""

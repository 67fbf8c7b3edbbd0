"""The pages of the Enable SCIM wizard, one module each (the wizard is console.ui.pages.enable_wizard)."""

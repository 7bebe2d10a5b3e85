from django import forms

from inventory.models import Configuration, Product


class ProductForm(forms.ModelForm):
    """The product's details; its photo is uploaded straight to storage by
    the page's image picker, never through this form. The view sets the
    site on the instance."""

    class Meta:
        model = Product
        fields = ["name", "cug", "price", "quantity"]

    def _get_validation_exclusions(self):
        # The site is not a form field but is set: check "cug unique per site".
        exclude = super()._get_validation_exclusions()
        exclude.discard("site_configuration")
        return exclude


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        model = Configuration
        fields = ["site_name", "address", "city", "country", "phone", "email", "currency"]


class SiteChoiceForm(forms.Form):
    """A superuser's choice of the site to act on (``inventory.sites``)."""

    site = forms.ModelChoiceField(queryset=Configuration.objects.all())

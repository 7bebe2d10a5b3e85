import uuid

from django import forms

from inventory.models import Configuration, Product


class ProductForm(forms.ModelForm):
    """The product's details; its photo is uploaded straight to storage by
    the page's image picker, never through this form. The view sets the
    site on the instance."""

    # A new product's form carries the key its product is saved under
    # (Product.save_key), the same however many times the form is sent.
    save_key = forms.UUIDField(required=False, initial=uuid.uuid4, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = ["name", "cug", "price", "quantity"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An existing product's page has none; the new product form bound
        # to the product it made keeps it, should it be shown again.
        if self.instance.pk is not None and not self.is_bound:
            del self.fields["save_key"]

    def save(self, commit=True):
        if self.instance.pk is None:
            self.instance.save_key = self.cleaned_data.get("save_key")
        return super().save(commit)

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

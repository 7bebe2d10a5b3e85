import uuid

from django import forms

from inventory.models import Configuration, Product, save_changes


class WritesItsFields(forms.ModelForm):
    """A form that saves an existing row writes the fields it shows (and
    the time it changed), not the whole row as it read it
    (``inventory.models.save_changes``)."""

    def save(self, commit=True):
        instance = super().save(commit=False)
        if commit:
            save_changes(instance, self._meta.fields)
            self._save_m2m()
        return instance


class ProductForm(WritesItsFields):
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

    def _post_clean(self):
        # Before the model's checks: a key taken since the view looked for
        # its product (a sending of the same form saved meanwhile) is then
        # an error of the form, as a CUG taken is, and not an error of the
        # database on save.
        if self.instance.pk is None:
            self.instance.save_key = self.cleaned_data.get("save_key")
        super()._post_clean()

    def _get_validation_exclusions(self):
        # Not form fields of the model's, but set: check "cug unique per
        # site" and "one product per save key".
        exclude = super()._get_validation_exclusions()
        exclude.discard("site_configuration")
        exclude.discard("save_key")
        return exclude


class SiteSettingsForm(WritesItsFields):
    class Meta:
        model = Configuration
        fields = ["site_name", "address", "city", "country", "phone", "email", "currency"]


class SiteChoiceForm(forms.Form):
    """A superuser's choice of the site to act on (``inventory.sites``)."""

    site = forms.ModelChoiceField(queryset=Configuration.objects.all())

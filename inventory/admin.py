from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inventory import services
from inventory.admin_uploads import DirectUploadAdminMixin, DirectUploadField
from inventory.models import Configuration, Product, User
from inventory.permissions import (
    ADD,
    CHANGE,
    DELETE,
    VIEW,
    can_act_on_products,
    can_add_or_delete_sites,
    can_manage_site,
    in_own_site_rows,
    outranks,
)
from inventory.sites import site_id_for_request, site_labels, site_url
from uploads.errors import UploadError


def page_link(page_url):
    """A link to the page of the object on the site's pages. It names the
    site (``site_url``), so that a superuser lands on that site's page."""
    return format_html('<a href="{}">{}</a>', page_url, _("Open its page"))


class SiteChoiceField(forms.ModelChoiceField):
    """A site field whose same-named sites are told apart (``site_labels``)."""

    labels = None

    def label_from_instance(self, site):
        if self.labels is None:
            self.labels = site_labels(self.queryset.only("site_name", "city"))
        return self.labels.get(site.pk, site.site_name)


class SiteListFilter(admin.RelatedFieldListFilter):
    """The site filter, its same-named sites told apart (``site_labels``)."""

    def field_choices(self, field, request, model_admin):
        choices = super().field_choices(field, request, model_admin)
        sites = field.related_model._default_manager.filter(pk__in=[pk for pk, _ in choices])
        labels = site_labels(sites.only("site_name", "city"))
        return [(pk, labels.get(pk, label)) for pk, label in choices]


class SiteLabelsAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` whose site fields and filter tell same-named sites
    apart; only superusers have the site's column and filter."""

    site_field = "site_configuration"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Configuration:
            kwargs.setdefault("form_class", SiteChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def without_site(self, items):
        """``items`` (list fields or filters) but the site's."""
        return [item for item in items if item not in (self.site_field, self.site_filter)]

    @property
    def site_filter(self):
        return (self.site_field, SiteListFilter)

    def get_list_filter(self, request):
        list_filter = super().get_list_filter(request)
        if request.user.is_superuser:
            return list_filter
        return self.without_site(list_filter)

    def get_list_display(self, request):
        list_display = super().get_list_display(request)
        if request.user.is_superuser:
            return list_display
        return self.without_site(list_display)


def site_bound_form(form_class, site_field, site_id):
    """``form_class`` for a row of ``site_id``, set before validation, so that
    the constraints that name the site (a CUG unique per site) are checked
    as form errors about the user's own site rather than failing on save."""

    class SiteBoundForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            setattr(self.instance, f"{site_field}_id", site_id)

        def _get_validation_exclusions(self):
            exclude = super()._get_validation_exclusions()
            exclude.discard(site_field)
            return exclude

    return SiteBoundForm


class SiteScopedAdmin(SiteLabelsAdmin):
    """Staff see and edit only their own site's rows; superusers see all
    (the model's ``visible_to``, as on the pages and in the API).

    Nothing of another site shows to a site's users: not its rows, nor its
    name in a list filter or a site field (they have neither), nor counts
    (the changelist counts this queryset).
    """

    site_scoped = True  # project.admin: offered to a site's staff

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        if not request.user.is_superuser:
            exclude.append(self.site_field)
        return exclude

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.user.is_superuser:
            return form
        return site_bound_form(form, self.site_field, request.user.site_configuration_id)

    def get_changeform_initial_data(self, request):
        """A superuser's new row is of the site they act for (chosen on the
        pages), unless the URL names another: the site whose folder the
        add form's photo is uploaded to (``site_id_for_request``)."""
        initial = super().get_changeform_initial_data(request)
        if request.user.is_superuser and self.site_field not in initial:
            try:
                initial[self.site_field] = site_id_for_request(request)
            except UploadError:
                pass  # a bad ?site=: no site offered
        return initial

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            setattr(obj, f"{self.site_field}_id", request.user.site_configuration_id)
        super().save_model(request, obj, form, change)


class ConfigurationForm(forms.ModelForm):
    # Straight to storage (inventory.admin_uploads): no image bytes reach
    # the admin.
    logo = DirectUploadField("logo", label=_("logo"))


@admin.register(Configuration)
class ConfigurationAdmin(DirectUploadAdminMixin, admin.ModelAdmin):
    form = ConfigurationForm
    direct_upload_fields = {"logo": "logo"}
    list_display = ["site_name", "city", "country", "currency"]
    search_fields = ["site_name", "city"]
    readonly_fields = ["settings_page"]
    site_scoped = True  # visible_to: project.admin offers it to a site's staff

    @admin.display(description=_("site settings"))
    def settings_page(self, configuration):
        if not configuration.pk:
            return "-"
        return page_link(site_url("inventory:site-settings", configuration.pk))

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_add_permission(self, request):
        return can_add_or_delete_sites(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request, obj)
        return can_manage_site(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return can_add_or_delete_sites(request.user)

    # Deleting a site takes its products with it, and their images and its
    # logo after the commit: inventory.services, whatever deletes it.
    def delete_model(self, request, obj):
        services.delete_sites(user=request.user, sites=Configuration.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.delete_sites(user=request.user, sites=queryset)


class ProductForm(forms.ModelForm):
    # Straight to storage (inventory.admin_uploads): no image bytes reach
    # the admin.
    image = DirectUploadField("product", label=_("image"))


@admin.register(Product)
class ProductAdmin(DirectUploadAdminMixin, SiteScopedAdmin):
    form = ProductForm
    direct_upload_fields = {"image": "product"}
    list_display = ["name", "cug", "price", "quantity", "site_configuration"]
    list_filter = [("site_configuration", SiteListFilter)]
    search_fields = ["name", "cug"]
    readonly_fields = ["product_page"]

    # inventory.permissions' rule, as on the pages and in the API.
    def has_view_permission(self, request, obj=None):
        return can_act_on_products(request.user, VIEW, obj)

    def has_add_permission(self, request):
        return can_act_on_products(request.user, ADD)

    def has_change_permission(self, request, obj=None):
        return can_act_on_products(request.user, CHANGE, obj)

    def has_delete_permission(self, request, obj=None):
        return can_act_on_products(request.user, DELETE, obj)

    # One delete or "delete selected": the image goes after the commit,
    # as on every path (inventory.services).
    def delete_model(self, request, obj):
        services.delete_product(user=request.user, product=obj)

    def delete_queryset(self, request, queryset):
        services.delete_products(user=request.user, products=queryset)

    @admin.display(description=_("product page"))
    def product_page(self, product):
        if not product.pk:
            return "-"
        return page_link(
            site_url("inventory:product-edit", product.site_configuration_id, product.pk)
        )


@admin.register(User)
class UserAdmin(SiteLabelsAdmin, BaseUserAdmin):
    list_display = [*BaseUserAdmin.list_display, "site_configuration", "is_site_admin"]
    list_filter = [
        # Groups are of no site: only those of the users listed, never
        # another shop's (named after it, often).
        *[
            ("groups", admin.RelatedOnlyFieldListFilter) if item == "groups" else item
            for item in BaseUserAdmin.list_filter
        ],
        ("site_configuration", SiteListFilter),
        "is_site_admin",
    ]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Site"), {"fields": ["site_configuration", "is_site_admin"]}),
    ]

    #: What only superusers may set: who is a superuser, and the permissions,
    #: role and site that everything else hangs on.
    SUPERUSER_FIELDS = [
        "is_superuser",
        "groups",
        "user_permissions",
        "is_site_admin",
        "site_configuration",
    ]
    site_scoped = True  # get_queryset: project.admin offers it to a site's staff

    def get_queryset(self, request):
        """Their own site's users, for anyone but a superuser; and never a
        superuser, who is of every site, and whose password or account a
        site's staff must not change."""
        users = in_own_site_rows(request.user, super().get_queryset(request), "site_configuration")
        if request.user.is_superuser:
            return users
        return users.filter(is_superuser=False)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not outranks(obj, request.user)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not outranks(obj, request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += self.SUPERUSER_FIELDS
        return readonly

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.site_configuration_id = request.user.site_configuration_id
        super().save_model(request, obj, form, change)

    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("Site"), {"fields": ["site_configuration", "is_site_admin"]}),
    ]

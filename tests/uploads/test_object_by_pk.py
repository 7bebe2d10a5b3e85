"""``uploads.statements.object_by_pk`` reads a row as the ORM would, for
any model a project's target may name (``uploads`` knows none of them)."""

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

from uploads.statements import object_by_pk


@pytest.fixture
def inherited():
    """A model inheriting another's table (multi-table inheritance): its
    fields are in two tables."""
    with isolate_apps("uploads"):

        class Poster(models.Model):
            title = models.CharField(max_length=50)
            picture = models.ImageField(blank=True)

            class Meta:
                app_label = "uploads"

        class FramedPoster(Poster):
            frame = models.CharField(max_length=20)

            class Meta:
                app_label = "uploads"

        with connection.schema_editor() as editor:
            editor.create_model(Poster)
            editor.create_model(FramedPoster)
        try:
            yield Poster, FramedPoster
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(FramedPoster)
                editor.delete_model(Poster)


@pytest.mark.django_db(transaction=True)
def test_a_row_of_an_inheriting_model_is_read_as_the_orm_reads_it(inherited):
    """A target of such a model that reads its object by id has it read
    here: one table's ``SELECT`` of every field failed on PostgreSQL
    (a 500) and, on SQLite, read the parent's fields as their own names."""
    poster, framed = inherited
    obj = framed.objects.create(title="Jazz", picture="a.png", frame="oak")
    found = object_by_pk(framed, obj.pk)
    assert (found.pk, found.title, found.picture.name, found.frame) == (
        obj.pk,
        "Jazz",
        "a.png",
        "oak",
    )
    assert object_by_pk(framed, obj.pk + 1) is None
    assert object_by_pk(poster, obj.pk).title == "Jazz"

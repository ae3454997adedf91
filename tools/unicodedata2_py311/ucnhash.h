/* Stand-in for the ucnhash.h that unicodedata2 12.1.0 includes right after Python.h: CPython
   3.10 moved that header into its internals (unicodedata2 uses none of it), and since 3.10
   Py_TYPE() is no longer an lvalue, which unicodedata2's module init assigns to. */
#undef Py_TYPE
#define Py_TYPE(ob) (((PyObject *)(ob))->ob_type)

/* Internal: the app databases of one app (for reports on one app). */
#ifndef TL_PG_LIST_H
#define TL_PG_LIST_H

#include "towlion/pg.h"

/* tl_pg_list() restricted to the database of `app` (an empty list when
 * it has none). */
int tl__pg_list_app(tl_pg_db_list **out, tl_pg *pg, const char *app);

#endif
